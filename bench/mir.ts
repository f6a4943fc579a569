// `npm run bench -- mir [--json] [--quick]`: cost of the textual IR and its weights file on zoo
// models. Printing and parsing sit beside the ONNX import of the same model (the other way to
// get the graph); saving and loading .mir + .weights beside writing and reading the same
// number of bytes with bare fs calls (the disk's floor on this machine), all in the same run.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importOnnx } from '../compiler/onnx/import.js';
import { buildZooModel } from '../examples/zoo/index.js';
import { parseMir } from '../ir/parse.js';
import { printGraphWithWeights } from '../ir/print.js';
import { loadMir, saveMir } from '../ir/weights.js';

/** One row of the table / JSON output. */
interface Row {
  model: string;
  what: string;
  ms: number;
  baselineMs: number;
  baselineIs: string;
}

/** Best milliseconds per call over `reps` calls. */
function best(fn: () => unknown, reps: number): number {
  let min = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

function rowsFor(model: string, dir: string, reps: number): Row[] {
  const onnx = buildZooModel(model);
  const g = importOnnx(onnx);
  const tImport = best(() => importOnnx(onnx), reps);
  const { text, weights } = printGraphWithWeights(g);
  const tPrint = best(() => printGraphWithWeights(g), reps);
  const tParse = best(() => parseMir(text, { weights }), reps);
  const path = join(dir, model);
  const paths = saveMir(g, path);
  const bytes = readFileSync(paths.weights);
  const tSave = best(() => saveMir(g, path), reps);
  const tLoad = best(() => loadMir(paths.mir), reps);
  const raw = join(dir, 'raw.bin');
  const tWrite = best(() => writeFileSync(raw, bytes), reps);
  const tRead = best(() => readFileSync(raw), reps);
  const size = `${(statSync(paths.weights).size / 1e6).toFixed(1)} MB weights, ${(text.length / 1e3).toFixed(0)} kB text`;
  return [
    { model, what: `print (${size})`, ms: tPrint, baselineMs: tImport, baselineIs: 'importOnnx of the same model' },
    { model, what: 'parse (text + weights in memory)', ms: tParse, baselineMs: tImport, baselineIs: 'importOnnx of the same model' },
    { model, what: 'saveMir (.mir + .weights)', ms: tSave, baselineMs: tWrite, baselineIs: 'writeFileSync of the weights bytes' },
    { model, what: 'loadMir (.mir + .weights)', ms: tLoad, baselineMs: tRead, baselineIs: 'readFileSync of the weights bytes' },
  ];
}

/** Runs the benchmark and prints the table or, with --json, one JSON array. */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-mir-'));
  try {
    const rows = (quick ? ['resnet18-cifar'] : ['resnet18-cifar', 'resnet50']).flatMap((m) => rowsFor(m, dir, quick ? 2 : 3));
    if (args.includes('--json')) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    const lines = [['model', 'what', 'ms', 'baseline ms', 'baseline'], ...rows.map((r) => [r.model, r.what, r.ms.toFixed(1), r.baselineMs.toFixed(1), r.baselineIs])];
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    for (const l of lines) process.stdout.write(l.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
