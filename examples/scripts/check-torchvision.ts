// Opt-in acceptance check (needs Debian's python3-torch, python3-torchvision, python3-onnx):
// exports real torchvision networks with /work/shared/tools/export-torchvision.py (or reads an
// existing export directory), imports each with mpcc, runs the plaintext interpreter and
// compares with onnxruntime-node and with PyTorch's own output. Prints a table; exits 1 when
// any model fails to import or differs from onnxruntime by more than 1e-4 relative error.
//
//   npx tsc -p . && node dist/examples/scripts/check-torchvision.js [--dir DIR] [--opset N] [NAME ...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnxFile } from '../../compiler/onnx/import.js';
import { readNpy } from '../../compiler/npy.js';
import { MpccError } from '../../ir/diagnostics.js';
import { Tensor } from '../../ir/tensor.js';
import { runGraph, type Precision } from '../../ir/interp/index.js';

const MODELS = ['resnet18_cifar100', 'resnet18_cifar100_bn', 'resnet18', 'resnet50', 'mobilenet_v2', 'deeplabv3_resnet50'];
const EXPORTER = process.env.MPCC_EXPORT_TORCHVISION ?? '/work/shared/tools/export-torchvision.py';
const TOLERANCE = 1e-4;

/** max|a − b| / max(1, max|b|). */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let diff = 0, scale = 1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

interface Row { model: string; nodes: string; importMs: string; interpMs: string; ortMs: string; vsOrt: string; vsOrt64: string; vsTorch: string; status: string }

async function check(dir: string, name: string): Promise<Row> {
  const row: Row = { model: name, nodes: '-', importMs: '-', interpMs: '-', ortMs: '-', vsOrt: '-', vsOrt64: '-', vsTorch: '-', status: 'FAIL' };
  const path = join(dir, `${name}.onnx`);
  try {
    let t = performance.now();
    const g = loadOnnxFile(path);
    row.importMs = (performance.now() - t).toFixed(0);
    row.nodes = String(g.nodes.length);
    const x = readNpy(join(dir, `${name}.input.npy`));
    const torchOut = readNpy(join(dir, `${name}.output.npy`));
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
    t = performance.now();
    const ortOut = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) }))[session.outputNames[0]];
    row.ortMs = (performance.now() - t).toFixed(0);
    const want = ortOut.data as Float32Array;
    const run = (precision: Precision) => runGraph(g, { [g.inputs[0]]: new Tensor('float32', x.shape, x.data) }, { precision }).get(g.outputs[0])!;
    t = performance.now();
    const y = run('float32');
    row.interpMs = (performance.now() - t).toFixed(0);
    if (y.shape.join(',') !== ortOut.dims.join(',')) throw new Error(`output shape [${y.shape}] but onnxruntime gives [${ortOut.dims}]`);
    const e32 = relativeError(y.data as ArrayLike<number>, want);
    const e64 = relativeError(run('float64').data as ArrayLike<number>, want);
    row.vsOrt = e32.toExponential(2);
    row.vsOrt64 = e64.toExponential(2);
    row.vsTorch = relativeError(y.data as ArrayLike<number>, torchOut.data).toExponential(2);
    row.status = e32 <= TOLERANCE && e64 <= TOLERANCE ? 'ok' : 'FAIL';
  } catch (err) {
    row.status = `FAIL: ${err instanceof MpccError ? err.format() : (err as Error).message}`;
  }
  return row;
}

function printTable(rows: Row[]): void {
  const head: Row = { model: 'model', nodes: 'nodes', importMs: 'import ms', interpMs: 'interp ms', ortMs: 'ort ms', vsOrt: 'rel err vs ort', vsOrt64: '(float64)', vsTorch: 'vs pytorch', status: 'status' };
  const keys = Object.keys(head) as (keyof Row)[];
  const width = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  for (const r of [head, ...rows]) console.log(keys.map((k, i) => (i === 0 || k === 'status' ? r[k].padEnd(width[i]) : r[k].padStart(width[i]))).join('  ').trimEnd());
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let dir: string | undefined, opset = '13';
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir') dir = resolve(args[++i]);
    else if (args[i] === '--opset') opset = args[++i];
    else names.push(args[i]);
  }
  const models = names.length ? names : MODELS;
  let temp: string | undefined;
  if (!dir || models.some((m) => !existsSync(join(dir!, `${m}.onnx`)))) {
    dir ??= temp = mkdtempSync(join(tmpdir(), 'mpcc-torchvision-'));
    console.error(`exporting ${models.join(', ')} to ${dir} (opset ${opset}) ...`);
    const r = spawnSync('/usr/bin/python3', [EXPORTER, dir, ...models, '--opset', opset], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) { console.error('export failed (needs python3-torch, python3-torchvision, python3-onnx)'); return 1; }
  }
  const rows: Row[] = [];
  for (const m of models) rows.push(await check(dir, m));
  printTable(rows);
  if (temp) rmSync(temp, { recursive: true, force: true });
  return rows.every((r) => r.status === 'ok') ? 0 : 1;
}

process.exit(await main());
