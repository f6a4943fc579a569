// `npm run bench -- kernels [--json] [--runs N]`: the CPU the parties spend on the
// truncations of resnet18-cifar's weight products (21 layers, 614,500 elements per
// inference), as a default compile runs them, beside the local truncation and the model's own
// kernels module (party{0,1,2}/kernels.wasm) measured in the same run on the same steps.
//
// A default compile truncates exactly (step 'truncateExact', runtime/protocols/truncate-exact.ts):
// P1 adds its moved bias (addRepeating), then each holder runs the protocol's local work (its
// shift, the packing of the one message; its dealing came from the offline phase). Its
// kernels.wasm specializes nothing there: the specialized truncations (trunc{p}_{n}_{bits},
// P1's fused with the bias add) serve the local truncation (step 'truncate'), which a compile
// with `--truncation local` emits: the local rows run that compile's steps (run() checks they
// are the same truncations: names, shifts, biases) and load its kernels.wasm.
//
// Each variant runs in a fresh process, as a party process runs one inference: "cold" is the
// CPU time of its first pass over all the steps (JIT warm-up, arena growth and page faults
// included), "warm" the best of 20 further passes. The exact truncation is timed on one
// party's side, with its peer's message (P0) replayed by a stub session: the local work, not
// the transport. Every variant's output is checked against the BigInt reference after its
// passes (a local truncation: ring-reference truncShare; the exact one: both parties' shares
// sum to ⌊x/2^bits⌋ or one less). CPU time, not wall time: the machine is shared.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRepeating, biasTruncName, truncName, truncateShare, type RepeatingConstant } from '../runtime/kernels/model-kernels.js';
import type { KernelsModule } from '../runtime/kernels/kernels-module.js';
import { loadPartyArtifacts } from '../runtime/program/index.js';
import type { Program } from '../runtime/program/program.js';
import { dealTruncation, exchangeTruncationDealing, truncateExact, type TruncationDealing } from '../runtime/protocols/truncate-exact.js';
import { packedBytes } from '../runtime/protocols/bits.js';
import { truncShare } from '../runtime/ring/ring.js';
import { conv2dOutShape } from '../runtime/ring/windows.js';
import * as ref from '../runtime/ring/ring-reference.js';
import { specializedKernel, useKernels } from '../runtime/kernels/ring-wasm.js';
import { createInProcessSessions } from '../runtime/transport/in-process.js';
import type { Session } from '../runtime/session/session.js';

/** The variants, each timed in its own process. */
const VARIANTS = {
  'P1 exact: addRepeating bias + truncateExact (default compile)': 'p1-exact',
  'P0 exact: truncateExact (default compile)': 'p0-exact',
  'P1 local: per-element bias loop + generic truncShare (before the fused kernel)': 'p1-loop',
  'P1 local: addRepeating + generic truncShare (fallback)': 'p1-generic',
  'P1 local: fused model kernel trunc1_…_bias… (--truncation local kernels.wasm)': 'p1-fused',
  'P0 local: generic truncShare': 'p0-generic',
  'P0 local: specialized model kernel trunc0_… (--truncation local kernels.wasm)': 'p0-model',
} as const;
type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];

/** The step kind a default compile truncates a weight product with, and the local form's. */
const TIMED_KIND = 'truncateExact';
const LOCAL_KIND = 'truncate';

/** One truncation: a secret x (|x| < 2^62 after the bias) shared as x0 + x1. */
interface Job {
  x0: BigUint64Array;
  x1: BigUint64Array;
  bits: number;
  bias: RepeatingConstant;
}

/** The steps timed: the truncations of a weight product that carry P1's moved bias, of `kind`
 * ('truncateExact' in the default compile, 'truncate' in the --truncation local one). Throws,
 * naming what the program has instead, when there is none. */
function timedSteps(p: Program, kind: string): Program['steps'] {
  const steps = p.steps.filter((st) => st.kind === kind && st.params.bias !== undefined);
  if (steps.length === 0) {
    const kinds = [...new Set(p.steps.map((st) => st.kind))].sort().join(', ');
    const compile = kind === TIMED_KIND ? 'the default compile' : 'the --truncation local compile';
    throw new Error(`bench kernels: ${compile} of resnet18-cifar has no '${kind}' step with P1's bias to time (its step kinds: ${kinds}); bench/kernels.ts needs updating to the steps that now truncate the weight products`);
  }
  return steps;
}

/** What identifies a timed step's truncation: its name, shift and bias. */
const truncationOf = (st: Program['steps'][number]): string => [st.name, st.params.bits, st.params.bias, st.params.inner ?? 1].join(' ');

/** The timed steps (of `kind`) of the compile in OUT, on fresh random shares of small values;
 * its kernels module (the one compiled in the process: a second would be compiled by V8's
 * background threads, whose CPU the cold pass would count). */
async function truncateJobs(out: string, kind: string): Promise<{ jobs: Job[]; kernels: KernelsModule }> {
  const arts = await loadPartyArtifacts(out, 1);
  const sizes = new Map<string, number>();
  for (const s of arts.program.setup) sizes.set(s.name, s.map.kind === 'conv' ? conv2dOutShape(s.map.conv).reduce((a, b) => a * b, 1) : s.map.m * s.map.n);
  const jobs: Job[] = [];
  for (const st of timedSteps(arts.program, kind)) {
    const producer = arts.program.steps.find((p) => p.outputs.includes(st.inputs[0]));
    const n = producer && sizes.get(String(producer.params.layer));
    const values = arts.weights.get(String(st.params.bias));
    if (!n || !values) throw new Error(`bench kernels: step ${st.name}: no weight layer's size or bias found for its operand ${st.inputs[0]}`);
    const x0 = new BigUint64Array(randomBytes(8 * n).buffer);
    // x = x0 + x1, a signed value below 2^40 (a product accumulator's range; the exact
    // truncation needs |x| < 2^62): x1 = x − x0.
    const small = new BigInt64Array(randomBytes(8 * n).buffer);
    const x1 = new BigUint64Array(n);
    for (let i = 0; i < n; i++) x1[i] = BigInt.asUintN(64, BigInt.asIntN(41, small[i]) - x0[i]);
    jobs.push({ x0, x1, bits: Number(st.params.bits), bias: { values, inner: Number(st.params.inner ?? 1) } });
  }
  return { jobs, kernels: arts.kernels };
}

/** The bias loop runProgram ran before the fused kernels (steps.ts plusP1Constant). */
function perElementLoop(y: BigUint64Array, c: RepeatingConstant): BigUint64Array {
  for (let i = 0; i < y.length; i++) y[i] += c.values[Math.floor(i / c.inner) % c.values.length];
  return y;
}

/** A party's side of a round: P1 sends (nothing comes back), P0 gets `reply` from P1. */
function stubSession(id: 0 | 1, reply: () => Uint8Array): Session {
  return { id, round: async () => (id === 0 ? new Map([[1, reply()]]) : new Map()) } as unknown as Session;
}

/** A local-truncation variant's pass over one job (synchronous). */
function localPass(variant: Variant, j: Job): BigUint64Array {
  switch (variant) {
    case 'p1-loop':
      return truncShare(perElementLoop(j.x1.slice(), j.bias), j.bits, 1);
    case 'p1-generic':
      return truncShare(addRepeating(j.x1.slice(), j.bias), j.bits, 1);
    case 'p1-fused':
      return truncateShare(j.x1, j.bits, 1, j.bias);
    case 'p0-generic':
      return truncShare(j.x0, j.bits, 0);
    case 'p0-model':
      return truncateShare(j.x0, j.bits, 0);
    default:
      throw new Error(`internal: ${variant} is not a local truncation`);
  }
}

/** The exact truncation's dealings of every job, by the three parties over in-process
 * sessions (the offline phase's work, done before the timed passes as a party does). */
async function dealings(jobs: readonly Job[]): Promise<[TruncationDealing[], TruncationDealing[]]> {
  const ss = await createInProcessSessions();
  try {
    const per = await Promise.all(
      ss.map(async (s) => {
        const ds: TruncationDealing[] = [];
        for (const j of jobs) {
          const d = dealTruncation(s, j.x0.length, j.bits, s.id === 0 ? j.x0 : null);
          await exchangeTruncationDealing(s, d);
          ds.push(d);
        }
        return ds;
      }),
    );
    return [per[0], per[1]];
  } finally {
    await Promise.all(ss.map((s) => s.close()));
  }
}

/** Child process: one variant, cold then warm; prints {elements, coldMs, warmMs}. */
async function child(variant: Variant, out: string, localOut: string): Promise<void> {
  const model = variant === 'p1-fused' || variant === 'p0-model';
  const exact = variant === 'p1-exact' || variant === 'p0-exact';
  // Exact: the default compile's steps and module, as its parties install it; local: the
  // --truncation local compile's (the same truncations, run() checks), with the generic module
  // or its own, which must hold every kernel timed (no silent fallback).
  const { jobs, kernels } = exact ? await truncateJobs(out, TIMED_KIND) : await truncateJobs(localOut, LOCAL_KIND);
  useKernels(exact || model ? kernels : null);
  if (model) {
    for (const j of jobs) {
      const name = variant === 'p1-fused' ? biasTruncName(j.x1.length, j.bits, 1, j.bias.values.length, j.bias.inner) : truncName(j.x0.length, j.bits, 0);
      if (!specializedKernel(name)) throw new Error(`bench kernels: the --truncation local compile's kernels.wasm has no ${name}; the ${variant} row would time the generic fallback`);
    }
  }
  const [d0, d1] = exact ? await dealings(jobs) : [[], []];
  // P1's message is uniform to P0 and its work independent of the values: random bytes of the
  // message's length while timing, P1's real message for the check.
  const replies = jobs.map((j) => randomBytes(packedBytes(j.x0.length, j.bits)));
  let k = 0;
  const p0 = stubSession(0, () => replies[k]);
  const p1 = stubSession(1, () => new Uint8Array());
  const exactPass = (party: 0 | 1, i: number): Promise<BigUint64Array> => {
    const j = jobs[i];
    k = i;
    return party === 1 ? truncateExact(p1, addRepeating(j.x1.slice(), j.bias), j.bits, d1[i]) : truncateExact(p0, j.x0, j.bits, d0[i]);
  };
  const all = async (): Promise<void> => {
    if (exact) {
      for (let i = 0; i < jobs.length; i++) await exactPass(variant === 'p1-exact' ? 1 : 0, i);
    } else jobs.forEach((j) => localPass(variant, j));
  };
  const cpu = async (f: () => Promise<void>): Promise<number> => {
    const t = process.cpuUsage();
    await f();
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 1000;
  };
  const coldMs = await cpu(all);
  let warmMs = Infinity;
  for (let r = 0; r < 20; r++) warmMs = Math.min(warmMs, await cpu(all));
  const j = jobs[0];
  if (exact) {
    // P1's real message to P0, then the sum of the two output shares against ⌊x/2^bits⌋.
    let sent: Uint8Array | undefined;
    const record = { id: 1, round: async (outgoing: { data: Uint8Array }[]) => ((sent = outgoing[0].data), new Map()) } as unknown as Session;
    const y1 = await truncateExact(record, addRepeating(j.x1.slice(), j.bias), j.bits, d1[0]);
    const y0 = await truncateExact(stubSession(0, () => sent!), j.x0, j.bits, d0[0]);
    const x = addRepeating(ref.add(j.x0, j.x1), j.bias);
    for (let i = 0; i < x.length; i++) {
      const want = BigInt.asIntN(64, x[i]) >> BigInt(j.bits);
      const got = BigInt.asIntN(64, y0[i] + y1[i]);
      if (got !== want && got !== want - 1n) throw new Error(`bench kernels: ${variant} differs from the reference at ${i}: ${got}, want ${want} or one less`);
    }
  } else {
    const want = variant.startsWith('p1') ? ref.truncShare(perElementLoop(j.x1.slice(), j.bias), j.bits, 1) : ref.truncShare(j.x0, j.bits, 0);
    const got = localPass(variant, j);
    if (got.some((v, i) => v !== want[i])) throw new Error(`bench kernels: ${variant} differs from the reference`);
  }
  process.stdout.write(JSON.stringify({ elements: jobs.reduce((t, q) => t + q.x0.length, 0), steps: jobs.length, coldMs, warmMs }) + '\n');
}

/** Specialized truncation exports (trunc{p}_…) of the party-1 kernels.wasm in OUT. */
async function specializedTruncations(out: string): Promise<number> {
  return [...(await loadPartyArtifacts(out, 1)).kernels.functions.keys()].filter((n) => /^trunc[01]_/.test(n)).length;
}

/** Runs the kernels benchmark and prints its table (or JSON with --json). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = args.indexOf('--runs');
  const runs = at >= 0 ? Number(args[at + 1]) : 5;
  // the compiler loaded here only: the child processes load the runtime alone
  const { runCompile } = await import('../compiler/commands/compile.js');
  const { buildZooModel } = await import('../examples/zoo/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-kernels-'));
  try {
    const onnx = join(dir, 'r18.onnx');
    writeFileSync(onnx, buildZooModel('resnet18-cifar'));
    const out = join(dir, 'out'), localOut = join(dir, 'out-local');
    runCompile(onnx, { output: out });
    runCompile(onnx, { output: localOut, truncation: 'local' });
    // fails clearly here, not in a child: no step to time, or local steps other than the exact ones
    const timed = timedSteps((await loadPartyArtifacts(out, 1)).program, TIMED_KIND).map(truncationOf);
    const local = timedSteps((await loadPartyArtifacts(localOut, 1)).program, LOCAL_KIND).map(truncationOf);
    if (timed.join('\n') !== local.join('\n')) throw new Error(`bench kernels: the --truncation local compile truncates other steps than the default compile (${local.length} '${LOCAL_KIND}' steps, ${timed.length} '${TIMED_KIND}'; first difference: ${local.find((t, i) => t !== timed[i]) ?? timed[local.length]})`);
    const steps = timed.length;
    const self = fileURLToPath(import.meta.url);
    const rows = Object.entries(VARIANTS).map(([what, variant]) => {
      const results = Array.from({ length: runs }, () => JSON.parse(execFileSync(process.execPath, [self, '--child', variant, out, localOut], { encoding: 'utf8' })) as { elements: number; coldMs: number; warmMs: number });
      const cold = results.map((r) => r.coldMs).sort((a, b) => a - b);
      return { variant: what, elements: results[0].elements, coldMsMedian: cold[Math.floor(runs / 2)], warmMsBest: Math.min(...results.map((r) => r.warmMs)) };
    });
    if (json) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    const [specDefault, specLocal] = [await specializedTruncations(out), await specializedTruncations(localOut)];
    console.log(`resnet18-cifar: the ${steps} ${TIMED_KIND} steps of a default compile (${rows[0].elements} elements), CPU ms: cold = median first pass of ${runs} fresh processes, warm = best later pass`);
    console.log(`specialized truncation kernels in kernels.wasm: default compile ${specDefault}, --truncation local ${specLocal}`);
    console.log('| variant | cold ms | warm ms |');
    console.log('|---|---|---|');
    for (const r of rows) console.log(`| ${r.variant} | ${r.coldMsMedian.toFixed(2)} | ${r.warmMsBest.toFixed(2)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as Variant, process.argv[4], process.argv[5]);
