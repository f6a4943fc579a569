// `npm run bench -- segmentation [--json] [--exports DIR] [--models a,b] [--reveal scores|argmax]`:
// secure segmentation as a user runs it — `mpcc compile` (the scale chosen for the model) then
// `mpcc run --json --expected` (three party processes over loopback TCP) — on torchvision's
// DeepLabV3 exports at 256×256 with PyTorch's own output as the baseline: per-pixel argmax
// agreement, max score error in % of the score range, bytes (online, preprocessing, one-time),
// rounds and wall time per inference. Opt-in: the exports need Debian's torch
// (`/usr/bin/python3 ../shared/tools/export-torchvision.py DIR deeplabv3_mobilenet_v3_large
// deeplabv3_resnet50`, which writes NAME.onnx, NAME.input.npy and NAME.output.npy). The parties
// run with a larger V8 heap (DeepLabV3-ResNet50's helper holds over 4 GB) and no round timeout.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag } from './flags.js';

const CLI = fileURLToPath(new URL('../../bin/mpcc.js', import.meta.url));

/** What `mpcc run --json --expected` prints (the parts used here). */
interface RunReport {
  wallSeconds: number;
  rounds: number;
  bytes: { total: number; online: number; preprocessing: number; oneTime: number };
  agreement: { pixelAgreement?: number; maxErrorOfRange?: number };
}

/** One row of the table / JSON output. */
interface Row {
  model: string;
  reveal: string;
  compileSeconds: number;
  wallSeconds: number;
  rounds: number;
  gbTotal: number;
  gbOnline: number;
  gbPreprocessing: number;
  gbOneTime: number;
  /** % of pixels whose secure argmax equals PyTorch's (with --reveal argmax: the revealed classes). */
  pixelAgreement: number;
  /** Max |secure − PyTorch| in % of PyTorch's score range (scores only). */
  maxErrorPercent?: number;
}

/** Compiles and runs one export; its row. */
function measure(dir: string, model: string, reveal: string, work: string): Row {
  const onnx = join(dir, `${model}.onnx`);
  if (!existsSync(onnx)) throw new Error(`${onnx} is missing: export it with ../shared/tools/export-torchvision.py`);
  const out = join(work, `${model}-${reveal}`);
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=14000`.trim() };
  const t0 = performance.now();
  execFileSync(process.execPath, [CLI, 'compile', onnx, '-o', out, '--reveal', reveal, '--quiet'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const compileSeconds = (performance.now() - t0) / 1000;
  const expected = join(dir, `${model}.output.npy`);
  const text = execFileSync(process.execPath, [CLI, 'run', out, '--input', join(dir, `${model}.input.npy`), '--expected', expected, '--json', '--round-timeout', '0', '--quiet'], { env, maxBuffer: 1 << 30 }).toString();
  const r = JSON.parse(text) as RunReport;
  const gb = (b: number) => b / 1e9;
  return {
    model,
    reveal,
    compileSeconds,
    wallSeconds: r.wallSeconds,
    rounds: r.rounds,
    gbTotal: gb(r.bytes.total),
    gbOnline: gb(r.bytes.online),
    gbPreprocessing: gb(r.bytes.preprocessing),
    gbOneTime: gb(r.bytes.oneTime),
    pixelAgreement: 100 * (r.agreement.pixelAgreement ?? Number.NaN),
    ...(r.agreement.maxErrorOfRange !== undefined ? { maxErrorPercent: 100 * r.agreement.maxErrorOfRange } : {}),
  };
}

/** Runs the benchmark (see the file comment). */
export async function run(args: string[]): Promise<void> {
  const dir = flag(args, '--exports') ?? '/work/exports';
  const models = (flag(args, '--models') ?? 'deeplabv3_mobilenet_v3_large,deeplabv3_resnet50').split(',');
  const reveal = flag(args, '--reveal') ?? 'scores';
  const work = mkdtempSync(join(tmpdir(), 'mpcc-bench-seg-'));
  const rows: Row[] = [];
  try {
    for (const model of models) {
      process.stderr.write(`bench segmentation: ${model} (--reveal ${reveal})\n`);
      rows.push(measure(dir, model, reveal, work));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const f = (v: number | undefined, d: number) => (v === undefined ? '-' : v.toFixed(d));
  process.stdout.write(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  process.stdout.write('| model | reveal | compile s | wall s | rounds | GB total | online | preprocessing | one-time | pixels agreeing % | max error % of range |\n|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.model} | ${r.reveal} | ${f(r.compileSeconds, 1)} | ${f(r.wallSeconds, 1)} | ${r.rounds} | ${f(r.gbTotal, 3)} | ${f(r.gbOnline, 3)} | ${f(r.gbPreprocessing, 3)} | ${f(r.gbOneTime, 3)} | ${f(r.pixelAgreement, 3)} | ${f(r.maxErrorPercent, 3)} |\n`);
  }
}
