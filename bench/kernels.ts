// `npm run bench -- kernels [--json] [--runs N]`: what a model's own kernels module
// (party{0,1,2}/kernels.wasm) saves over the runtime's generic kernels, on the steps it
// specializes: the Truncate steps of resnet18-cifar (21 layers, 614,500 elements), P1's with
// the bias add fused in. Each variant runs in a fresh process, as a party process runs one
// inference: "cold" is the CPU time of its first pass over all the steps (JIT warm-up, arena
// growth and page faults included), "warm" the best of 20 further passes. Every variant's
// output is checked against the BigInt reference first. CPU time, not wall time: the machine
// is shared.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCompile } from '../compiler/commands/compile.js';
import { buildZooModel } from '../examples/zoo/index.js';
import { addRepeating, truncateShare, type RepeatingConstant } from '../runtime/kernels/model-kernels.js';
import { loadPartyArtifacts } from '../runtime/program/index.js';
import { truncShare } from '../runtime/ring/ring.js';
import { conv2dOutShape } from '../runtime/ring/windows.js';
import * as ref from '../runtime/ring/ring-reference.js';
import { useKernels } from '../runtime/kernels/ring-wasm.js';

/** The variants, each timed in its own process. */
const VARIANTS = {
  'P1 per-element bias loop + generic truncShare (before)': 'p1-loop',
  'P1 addRepeating + generic truncShare (fallback)': 'p1-generic',
  'P1 fused model kernel trunc1_…_bias…': 'p1-fused',
  'P0 generic truncShare': 'p0-generic',
  'P0 specialized model kernel trunc0_…': 'p0-model',
} as const;
type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];

interface Job {
  x: BigUint64Array;
  bits: number;
  bias: RepeatingConstant;
}

/** P1's Truncate steps of the compiled model in OUT, on random shares. */
async function truncateJobs(out: string): Promise<{ jobs: Job[]; kernels: Awaited<ReturnType<typeof loadPartyArtifacts>>['kernels'] }> {
  const arts = await loadPartyArtifacts(out, 1);
  const sizes = new Map<string, number>();
  for (const s of arts.program.setup) sizes.set(s.name, s.map.kind === 'conv' ? conv2dOutShape(s.map.conv).reduce((a, b) => a * b, 1) : s.map.m * s.map.n);
  const jobs: Job[] = [];
  for (const st of arts.program.steps) {
    if (st.kind !== 'truncate' || st.params.bias === undefined) continue;
    const producer = arts.program.steps.find((p) => p.outputs.includes(st.inputs[0]))!;
    const n = sizes.get(String(producer.params.layer))!;
    const x = new BigUint64Array(randomBytes(8 * n).buffer);
    jobs.push({ x, bits: Number(st.params.bits), bias: { values: arts.weights.get(String(st.params.bias))!, inner: Number(st.params.inner ?? 1) } });
  }
  return { jobs, kernels: arts.kernels };
}

/** The bias loop runProgram ran before the fused kernels (steps.ts plusP1Constant). */
function perElementLoop(y: BigUint64Array, c: RepeatingConstant): BigUint64Array {
  for (let i = 0; i < y.length; i++) y[i] += c.values[Math.floor(i / c.inner) % c.values.length];
  return y;
}

function pass(variant: Variant, j: Job): BigUint64Array {
  switch (variant) {
    case 'p1-loop':
      return truncShare(perElementLoop(j.x.slice(), j.bias), j.bits, 1);
    case 'p1-generic': {
      const y = addRepeating(j.x.slice(), j.bias);
      return truncShare(y, j.bits, 1);
    }
    case 'p1-fused':
      return truncateShare(j.x, j.bits, 1, j.bias);
    case 'p0-generic':
      return truncShare(j.x, j.bits, 0);
    case 'p0-model':
      return truncateShare(j.x, j.bits, 0);
  }
}

/** Child process: one variant, cold then warm; prints {elements, coldMs, warmMs}. */
async function child(variant: Variant, out: string): Promise<void> {
  const { jobs, kernels } = await truncateJobs(out);
  useKernels(variant === 'p1-fused' || variant === 'p0-model' ? kernels : null);
  const cpu = (f: () => void) => {
    const t = process.cpuUsage();
    f();
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 1000;
  };
  const all = () => jobs.forEach((j) => pass(variant, j));
  const coldMs = cpu(all);
  let warmMs = Infinity;
  for (let r = 0; r < 20; r++) warmMs = Math.min(warmMs, cpu(all));
  const j = jobs[0];
  const party = variant.startsWith('p1') ? 1 : 0;
  const want = ref.truncShare(party === 1 ? perElementLoop(j.x.slice(), j.bias) : j.x, j.bits, party);
  const got = pass(variant, j);
  if (got.some((v, i) => v !== want[i])) throw new Error(`bench kernels: ${variant} differs from the reference`);
  process.stdout.write(JSON.stringify({ elements: jobs.reduce((t, q) => t + q.x.length, 0), coldMs, warmMs }) + '\n');
}

/** Runs the kernels benchmark and prints its table (or JSON with --json). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = args.indexOf('--runs');
  const runs = at >= 0 ? Number(args[at + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-kernels-'));
  try {
    writeFileSync(join(dir, 'r18.onnx'), buildZooModel('resnet18-cifar'));
    runCompile(join(dir, 'r18.onnx'), { output: join(dir, 'out') });
    const self = fileURLToPath(import.meta.url);
    const rows = Object.entries(VARIANTS).map(([what, variant]) => {
      const results = Array.from({ length: runs }, () => JSON.parse(execFileSync(process.execPath, [self, '--child', variant, join(dir, 'out')], { encoding: 'utf8' })) as { elements: number; coldMs: number; warmMs: number });
      const cold = results.map((r) => r.coldMs).sort((a, b) => a - b);
      return { variant: what, elements: results[0].elements, coldMsMedian: cold[Math.floor(runs / 2)], warmMsBest: Math.min(...results.map((r) => r.warmMs)) };
    });
    if (json) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    console.log(`resnet18-cifar Truncate steps (${rows[0].elements} elements), CPU ms: cold = median first pass of ${runs} fresh processes, warm = best later pass`);
    console.log('| variant | cold ms | warm ms |');
    console.log('|---|---|---|');
    for (const r of rows) console.log(`| ${r.variant} | ${r.coldMsMedian.toFixed(2)} | ${r.warmMsBest.toFixed(2)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as Variant, process.argv[4]);
