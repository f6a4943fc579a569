// `npm run bench -- e2e [--json] [--models a,b] [--runs N] [--transport tcp|inproc] [--baseline-cli PATH [--baseline-same-mode]] [--frac-bits F]`: the
// product's path as a user runs it — `mpcc compile` then `mpcc run --json` (three party
// processes over loopback TCP by default) on zoo models — with compile time, wall time, bytes
// and rounds beside the targets and the seed paper's figures, and in the same run the
// plaintext baseline (onnxruntime-node on the same model and input) the secure output is
// checked against (top-1 and max abs error relative to the output range).
//
// Model variants: NAME (all ReLUs, MaxPool kept), NAME+avgpool (compiled with
// maxpool-to-avgpool; compared against the float model with the same change, run in the
// plaintext interpreter since onnxruntime has no such model file), NAME+maxtree (compiled with
// maxpool-to-relu-tree: the MaxPool as ReLU layers a plan covers; its levels in the MaxPool
// column), and any of them with @BHxBW
// (planned with `mpcc plan --uniform BHxBW`, compiled with --plan; compared against the
// interpreter on the planned float graph, the network the parties compute) or @kR (a knapsack
// plan keeping the fraction R of the DReLUs: `mpcc plan --budget R --mode fast` on 16
// calibration samples of the input's generator), and ~auto at the end (compiled with
// `--compare-bits auto` on the same calibration samples: per-layer narrowed comparison windows;
// e.g. resnet50+maxtree@k0.06~auto), and +co last (compiled with --client-offline: P0's shares
// computed offline, the helper selects; e.g. resnet50+maxtree@k0.06~auto+co; the baseline CLI
// compiles the classic mode with the same plan and windows), optionally followed by %40, %48,
// %56, %64 or %auto (`--ring`: the ring's bits, e.g. resnet50+maxtree@4x4~auto+co%40; the
// baseline compiles without it). Each row has the
// DReLUs kept (beside the all-ReLU variant measured in the same run) and the bytes split
// exactly into comparisons / selections / products / MaxPool / other (bench/e2e-split.ts).
// Times: the online latency (input given → output revealed, the headline figure) and the
// offline phase before it (runtime/program/offline.ts), with their rounds and bytes. With
// `--baseline-cli PATH` (another build's bin/mpcc.js, e.g. main's), each variant is also
// compiled and run by that build in the same run, its wall seconds beside ours ('base s'); with
// `--baseline-same-mode` a +co variant's baseline is compiled with --client-offline too (a build
// that has the mode), so 'online/base' compares the same mode across builds. `--frac-bits F`
// compiles every row and its baseline at F fractional bits (e.g. 14, where `--ring auto` fits
// resnet50 in Z_2^40).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { decodeNpy, encodeNpy } from '../compiler/npy.js';
import { buildZooModel, zooEntry } from '../examples/zoo/index.js';
import type { CostReport } from '../passes/secure/cost-model.js';
import { type ByteSplit, isMaxPoolLayer, parseVariant, planned, splitBytes } from './e2e-split.js';
import { benchInput } from './inputs.js';

const CLI = fileURLToPath(new URL('../../bin/mpcc.js', import.meta.url));

/** Targets of the end-to-end issue and the seed paper's figures (all ReLUs, 64-bit compares). */
const REFERENCE: Record<string, { gbTarget: number; secondsTarget: number; paperGB: number; paperSeconds: number; roundsTarget?: number; compileTarget?: number }> = {
  'resnet18-cifar': { gbTarget: 0.12, secondsTarget: 2.5, paperGB: 0.494, paperSeconds: 2.86 },
  resnet50: { gbTarget: 2.0, secondsTarget: 30, paperGB: 6.36, paperSeconds: 31.6, roundsTarget: 300, compileTarget: 10 },
  'resnet50+avgpool': { gbTarget: 2.0, secondsTarget: 30, paperGB: 6.36, paperSeconds: 31.6, roundsTarget: 300, compileTarget: 10 },
};

/** Calibration samples of a knapsack plan (`@kR`), auto windows (`~auto`) or `--ring auto` (`%auto`);
 * every compile of such a row takes them (`--calib`), as the plan's own `mpcc compile --budget` would. */
const CALIB_SAMPLES = 16;

/** The seed paper's ResNet50 with 6% of the DReLUs (three machines), beside every planned resnet50 row. */
const PAPER_RESNET50_6PCT = { paperGB: 0.925, paperSeconds: 5.83 };

/** One phase in `mpcc run --json` (absent from builds before the offline phase). */
interface PhaseReport {
  seconds: number;
  rounds: number;
  bytes: number;
  /** Per party CPU seconds (absent from builds before it). */
  cpuSeconds?: number[];
}

/** What `mpcc run --json` prints. */
interface RunReport {
  wallSeconds: number;
  rounds: number;
  online?: PhaseReport;
  offline?: PhaseReport;
  bytes: { total: number; online: number; preprocessing: number; oneTime: number; perParty: number[] };
  output: string;
}

/** One row of the table / JSON output. */
interface Row {
  model: string;
  /** Seconds of `mpcc plan` (0 for an all-ReLU row). */
  planSeconds: number;
  compileSeconds: number;
  /** DReLUs per inference (cost.json), with MaxPool's. */
  drelus: number;
  /** cost.json's drelusBefore: every block-ReLU counted as an ordinary ReLU in place. More than
   * the all-ReLU network's where a ReLU before a MaxPool is planned: unplanned, the compiler
   * swaps it behind the pool (ResNet50's stem: 802,816 → 200,704 DReLUs). */
  drelusBefore: number;
  /** drelus / the all-ReLU network's (measured in the same run when listed, else drelusBefore). */
  drelusKept: number;
  /** DReLUs of the MaxPools (unchanged by a plan). */
  maxPoolDrelus: number;
  /** The ReLUs' and block-ReLUs' DReLUs over the all-ReLU network's (MaxPools left out on both sides). */
  reluDrelusKept: number;
  /** Bytes per inference by column (exact: they add up to gb × 1e9). */
  split: ByteSplit;
  wallSeconds: number;
  /** Online latency (input given → output revealed) and offline seconds, rounds of each. */
  onlineSeconds: number;
  offlineSeconds: number;
  offlineRounds: number;
  /** --baseline-cli: that build's wall seconds (its online latency when it reports one), same variant, same run. */
  baseSeconds: number | null;
  baseOnlineSeconds: number | null;
  /** Online CPU seconds of P0, P1, P2 (ours; the baseline's when it reports them). */
  onlineCpuSeconds: number[] | null;
  baseOnlineCpuSeconds: number[] | null;
  gb: number;
  onlineGB: number;
  preprocessingGB: number;
  oneTimeGB: number;
  perPartyGB: number[];
  rounds: number;
  plainSeconds: number;
  top1Equal: boolean;
  maxAbsErrorOfRange: number;
  gbTarget: number | null;
  secondsTarget: number | null;
  paperGB: number | null;
  paperSeconds: number | null;
  load1: number;
}

function mpcc(args: string[], cli = CLI): string {
  return execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
}

/** Best-of-`runs` wall seconds of another build on the same model, plan and input (its own compile). */
function baselineRun(cli: string, onnxPath: string, compileFlags: string[], inputPath: string, transport: string, runs: number, dir: string): { wall: number; online: number | null; cpu: number[] | null } {
  const out = join(dir, 'out-base');
  mpcc(['compile', onnxPath, '-o', out, ...compileFlags], cli);
  let best: RunReport | null = null;
  // Best by the online latency when the build reports one (as our rows), else by wall time.
  const key = (r: RunReport) => r.online?.seconds ?? r.wallSeconds;
  for (let r = 0; r < runs; r++) {
    const report = JSON.parse(mpcc(['run', out, '--input', inputPath, '--json', '--transport', transport], cli)) as RunReport;
    if (!best || key(report) < key(best)) best = report;
  }
  return { wall: best!.wallSeconds, online: best!.online?.seconds ?? null, cpu: best!.online?.cpuSeconds ?? null };
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** The float reference: onnxruntime on the ONNX model, or the interpreter after the same
 * passes for a variant onnxruntime cannot run. Returns the output and its seconds. */
async function reference(model: Uint8Array, onnxPath: string, input: Float32Array, shape: readonly number[], passes: string | null, dir: string): Promise<{ out: Float32Array; seconds: number }> {
  if (passes) {
    const inPath = join(dir, 'ref-input.npy');
    const outPath = join(dir, 'ref-output.npy');
    writeFileSync(inPath, encodeNpy(shape, input));
    const mir = join(dir, 'ref.mir');
    mpcc(['ir', onnxPath, '--passes', passes, '-o', mir]);
    const t0 = process.hrtime.bigint();
    mpcc(['infer', mir, '--input', inPath, '-o', outPath]);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { out: Float32Array.from(decodeNpy(readFileSync(outPath), outPath).data), seconds };
  }
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [...shape]) };
  await session.run(feeds);
  const t0 = process.hrtime.bigint();
  const res = await session.run(feeds);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = Float32Array.from(res[session.outputNames[0]].data as Float32Array);
  await session.release();
  return { out, seconds };
}

async function measure(variant: string, runs: number, transport: string, baselines: ReadonlyMap<string, Row>, baseCli: string | null, baseSameMode = false, fracBits?: string): Promise<Row> {
  const v = parseVariant(variant);
  const entry = zooEntry(v.name);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-e2e-'));
  try {
    const model = buildZooModel(v.name);
    const onnxPath = join(dir, `${v.name}.onnx`);
    writeFileSync(onnxPath, model);
    const input = benchInput(entry.inputShape.reduce((a, b) => a * b, 1), 4242);
    const inputPath = join(dir, 'input.npy');
    writeFileSync(inputPath, encodeNpy(entry.inputShape, input));
    const passesFlag = v.passes ? ['--passes', v.passes] : [];
    // Calibration samples (a knapsack plan, auto windows): CALIB_SAMPLES inputs of the same
    // generator as the input, other seeds.
    const calibPath = join(dir, 'calib.npy');
    const calibrated = v.budget !== null || v.windows || v.ring === 'auto';
    if (calibrated) {
      const n = entry.inputShape.reduce((a, b) => a * b, 1) / entry.inputShape[0];
      const calib = new Float32Array(n * CALIB_SAMPLES);
      for (let i = 0; i < CALIB_SAMPLES; i++) calib.set(benchInput(n, 1000 + i), i * n);
      writeFileSync(calibPath, encodeNpy([CALIB_SAMPLES, ...entry.inputShape.slice(1)], calib));
    }
    const planPath = join(dir, 'plan.json');
    let planSeconds = 0;
    if (planned(v)) {
      const t = process.hrtime.bigint();
      const how = v.block ? ['--uniform', v.block] : ['--budget', String(v.budget), '--calib', calibPath, '--mode', 'fast'];
      mpcc(['plan', onnxPath, ...how, '-o', planPath, '--quiet', ...passesFlag]);
      planSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    }
    // --calib whenever there are samples: the windows, `--ring auto`'s range, and the scale when
    // --frac-bits is not given are chosen on them (as `mpcc compile --budget R --calib DATA` does)
    const compileFlags = [...passesFlag, ...(planned(v) ? ['--plan', planPath] : []), ...(v.windows ? ['--compare-bits', 'auto'] : []), ...(calibrated ? ['--calib', calibPath] : []), ...(fracBits ? ['--frac-bits', fracBits] : [])];
    const out = join(dir, 'out');
    const t0 = process.hrtime.bigint();
    // The baseline (--baseline-cli) compiles the classic mode with the same plan and windows
    // (with --baseline-same-mode, a +co variant in the client-offline mode too). A planned compile
    // chooses its mode by default (--client-offline auto): a row without +co is the classic mode,
    // asked for.
    mpcc(['compile', onnxPath, '-o', out, '--quiet', ...compileFlags, ...(v.clientOffline ? ['--client-offline'] : planned(v) ? ['--client-offline=off'] : []), ...(v.ring ? ['--ring', v.ring] : [])]);
    const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const costPath = join(out, 'cost.json');
    const cost = JSON.parse(readFileSync(costPath, 'utf8')) as CostReport;
    const split = splitBytes(cost, costPath);
    const outputPath = join(dir, 'output.npy');
    let best: RunReport | null = null;
    for (let r = 0; r < runs; r++) {
      const report = JSON.parse(mpcc(['run', out, '--input', inputPath, '-o', outputPath, '--json', '--transport', transport])) as RunReport;
      if (report.bytes.total !== cost.bytes.total) throw new Error(`e2e: ${variant}: the parties sent ${report.bytes.total} bytes, cost.json says ${cost.bytes.total}`);
      if (!best || (report.online?.seconds ?? report.wallSeconds) < (best.online?.seconds ?? best.wallSeconds)) best = report;
    }
    let base: { wall: number; online: number | null; cpu: number[] | null } | null = null;
    try {
      base = baseCli ? baselineRun(baseCli, onnxPath, [...compileFlags, ...(baseSameMode && v.clientOffline ? ['--client-offline'] : [])], inputPath, transport, runs, dir) : null;
    } catch (e) {
      // A failed baseline run (e.g. a timeout on an overloaded machine) leaves its column empty.
      process.stderr.write(`e2e: ${variant}: the baseline build failed: ${(e as Error).message.split('\n')[0]}\n`);
    }
    const secure = decodeNpy(readFileSync(outputPath), outputPath).data;
    // The planned network's float reference: the interpreter after the same passes and the plan.
    const refPasses = planned(v) ? `${v.passes ?? 'canonicalize'},insert-block-relu{plan=${planPath}}` : v.passes;
    const ref = await reference(model, onnxPath, input, entry.inputShape, refPasses, dir);
    let lo = Infinity, hi = -Infinity, err = 0;
    for (let i = 0; i < ref.out.length; i++) {
      lo = Math.min(lo, ref.out[i]);
      hi = Math.max(hi, ref.out[i]);
      err = Math.max(err, Math.abs(secure[i] - ref.out[i]));
    }
    const baseline = baselines.get(v.baseline);
    const maxPoolDrelus = cost.layers.filter(isMaxPoolLayer).reduce((t, l) => t + l.drelus, 0);
    const refRow = planned(v) ? (v.name === 'resnet50' ? PAPER_RESNET50_6PCT : undefined) : REFERENCE[v.baseline];
    const target = planned(v) ? undefined : REFERENCE[v.baseline];
    const gb = (b: number) => b / 1e9;
    return {
      model: variant,
      planSeconds,
      compileSeconds,
      drelus: cost.drelus,
      drelusBefore: cost.drelusBefore,
      drelusKept: cost.drelus / (baseline?.drelus ?? cost.drelusBefore),
      maxPoolDrelus,
      reluDrelusKept: (cost.drelus - maxPoolDrelus) / ((baseline?.drelus ?? cost.drelusBefore) - (baseline?.maxPoolDrelus ?? maxPoolDrelus)),
      split,
      wallSeconds: best!.wallSeconds,
      onlineSeconds: best!.online?.seconds ?? best!.wallSeconds,
      offlineSeconds: best!.offline?.seconds ?? 0,
      offlineRounds: best!.offline?.rounds ?? 0,
      baseSeconds: base?.wall ?? null,
      baseOnlineSeconds: base?.online ?? null,
      onlineCpuSeconds: best!.online?.cpuSeconds ?? null,
      baseOnlineCpuSeconds: base?.cpu ?? null,
      gb: gb(best!.bytes.total),
      onlineGB: gb(best!.bytes.online),
      preprocessingGB: gb(best!.bytes.preprocessing),
      oneTimeGB: gb(best!.bytes.oneTime),
      perPartyGB: best!.bytes.perParty.map(gb),
      rounds: best!.rounds,
      plainSeconds: ref.seconds,
      top1Equal: argmax(secure) === argmax(ref.out),
      maxAbsErrorOfRange: err / Math.max(hi - lo, 1e-30),
      gbTarget: target?.gbTarget ?? null,
      secondsTarget: target?.secondsTarget ?? null,
      paperGB: refRow?.paperGB ?? null,
      paperSeconds: refRow?.paperSeconds ?? null,
      load1: loadavg()[0],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));
const cpuText = (v: number[] | null) => (v === null ? '—' : v.map((c) => c.toFixed(2)).join('/'));

/** Runs the benchmark; prints a table, or a JSON array with --json. */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const runs = Number(at('--runs') ?? 1);
  const transport = at('--transport') ?? 'tcp';
  const baseCli = at('--baseline-cli') ?? null;
  const baseSameMode = args.includes('--baseline-same-mode');
  const models = (at('--models') ?? 'resnet18-cifar,resnet50,resnet50+avgpool').split(',');
  const rows: Row[] = [];
  const baselines = new Map<string, Row>();
  // All-ReLU variants first, so a planned row's kept fraction is against the run's own baseline.
  const order = [...models.filter((m) => !planned(parseVariant(m))), ...models.filter((m) => planned(parseVariant(m)))];
  for (const m of order) {
    process.stderr.write(`e2e: ${m} …\n`);
    const row = await measure(m, runs, transport, baselines, baseCli, baseSameMode, at('--frac-bits'));
    // Windows change no DReLU count: an all-ReLU row is the baseline of its plain name too.
    if (!planned(parseVariant(m)) && !baselines.has(parseVariant(m).baseline)) baselines.set(parseVariant(m).baseline, row);
    rows.push(row);
  }
  rows.sort((a, b) => models.indexOf(a.model) - models.indexOf(b.model));
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  process.stdout.write(`end to end: mpcc compile + mpcc run (${transport}, three parties on this machine), best of ${runs}, load average ${loadavg()[0].toFixed(1)}\n`);
  process.stdout.write('GB: bytes sent per inference, all parties, online + preprocessing (one-time apart), split exactly into comparisons / selections (ReLUs, block-ReLUs) / products (convs, matmuls) / MaxPool / other (reveals); kept: DReLUs over the all-ReLU row, ReLU kept: the same with the MaxPools left out on both sides\n');
  process.stdout.write('reference: onnxruntime-node, or the interpreter for +avgpool and planned (@BHxBW, @kR) rows, on the network the parties compute; paper: all ReLUs, or ResNet50 at 6% of the DReLUs for a planned resnet50\n');
  process.stdout.write('online s: input given → output revealed (the headline latency); offline s: the input-independent phase before it, its rounds (the closing exchange); wall s: offline + online; base s: --baseline-cli\'s wall s on the same variant in this run (its online s if it reports one); online/base: our online s over the baseline\'s online s (its wall s without one); online CPU s: each party\'s CPU seconds in the online phase, P0/P1/P2 (the baseline\'s in brackets when it reports them)\n');
  const head = ['model', 'DReLUs', 'kept', 'ReLU kept', 'MaxPool DReLUs', 'GB', 'compare', 'select', 'products', 'MaxPool', 'other', 'paper GB', 'rounds', 'online s', 'offline s', 'off rounds', 'wall s', 'base s', 'online/base', 'online CPU s', 'paper s', 'compile s', 'plan s', 'one-time GB', 'P0/P1/P2 GB', 'ref s', 'top-1 =', 'max err/range'];
  const body = rows.map((r) => [
    r.model, r.drelus.toLocaleString('en-US'), `${(100 * r.drelusKept).toFixed(2)}%`, `${(100 * r.reluDrelusKept).toFixed(2)}%`, r.maxPoolDrelus.toLocaleString('en-US'), fmt(r.gb), ...[r.split.comparisons, r.split.selections, r.split.products, r.split.maxPool, r.split.other].map((b) => fmt(b / 1e9, 4)), fmt(r.paperGB),
    String(r.rounds), fmt(r.onlineSeconds, 2), fmt(r.offlineSeconds, 2), String(r.offlineRounds), fmt(r.wallSeconds, 2), r.baseSeconds === null ? '—' : `${fmt(r.baseSeconds, 2)}${r.baseOnlineSeconds === null ? '' : ` (online ${fmt(r.baseOnlineSeconds, 2)})`}`,
    r.baseSeconds === null ? '—' : fmt(r.onlineSeconds / (r.baseOnlineSeconds ?? r.baseSeconds), 2),
    `${cpuText(r.onlineCpuSeconds)}${r.baseOnlineCpuSeconds ? ` (${cpuText(r.baseOnlineCpuSeconds)})` : ''}`,
    fmt(r.paperSeconds, 2), fmt(r.compileSeconds, 2), r.planSeconds ? fmt(r.planSeconds, 2) : '—',
    fmt(r.oneTimeGB), r.perPartyGB.map((g) => g.toFixed(3)).join('/'), fmt(r.plainSeconds, 3), r.top1Equal ? 'yes' : 'NO', r.maxAbsErrorOfRange.toExponential(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  for (const line of [head, ...body]) process.stdout.write(line.map((c, i) => c.padEnd(widths[i])).join('  ') + '\n');
}
