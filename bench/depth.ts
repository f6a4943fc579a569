// `npm run bench -- depth [--json] [--sizes 1000,5000,20000]`: `mpcc compile` time against the
// depth of a model, on chains of ReLUs and of Conv-BatchNormalization-ReLU blocks (tiny 4×8×8
// maps, so the time is the compiler's per-node work, not arithmetic). Baseline from the same
// run: the 1,000-deep chain's time extrapolated linearly; a ratio near 1 means linear in depth.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../compiler/commands/compile.js';
import { OnnxBuilder } from '../compiler/onnx/writer.js';

/** The kinds of chain. */
type Chain = 'relu' | 'conv-bn-relu';

/** One row (times in seconds). */
interface Row {
  chain: Chain;
  depth: number;
  nodes: number;
  compileSeconds: number;
  /** The 1,000-deep chain's time × depth / 1,000. */
  linearSeconds: number;
  load1: number;
}

/** A chain of `depth` blocks as ONNX bytes (weights: fixed small fractions, test data). */
function chainModel(chain: Chain, depth: number): { bytes: Uint8Array; nodes: number } {
  const b = new OnnxBuilder({ opset: 13 });
  let x = b.input('x', [1, 4, 8, 8]);
  for (let i = 0; i < depth; i++) {
    if (chain === 'conv-bn-relu') {
      const w = b.initializer(b.fresh('w'), Array.from({ length: 16 }, (_, k) => (((k * 7 + i) % 5) - 2) / 8), [4, 4, 1, 1]);
      x = b.node('Conv', [x, w], [b.fresh('c')])[0];
      const stats = ['s', 'b', 'm', 'v'].map((p, j) => b.initializer(b.fresh(p), [[1, 0.5, 1, 0.5], [0, 0.1, 0, 0.1], [0, 0, 0, 0], [1, 1, 1, 1]][j], [4]));
      x = b.node('BatchNormalization', [x, ...stats], [b.fresh('bn')])[0];
    }
    x = b.node('Relu', [x], [b.fresh('r')])[0];
  }
  b.output(x);
  return { bytes: b.toBytes(), nodes: b.opTypes().length };
}

/** Seconds of one in-process `mpcc compile` of the chain. */
function compileSeconds(dir: string, chain: Chain, depth: number): { seconds: number; nodes: number } {
  const { bytes, nodes } = chainModel(chain, depth);
  const model = join(dir, `${chain}-${depth}.onnx`);
  writeFileSync(model, bytes);
  const out = join(dir, `${chain}-${depth}.out`);
  const t0 = performance.now();
  runCompile(model, { output: out });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return { seconds, nodes };
}

/** Runs the benchmark and prints its table (or JSON). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = args.indexOf('--sizes');
  const sizes = at >= 0 ? args[at + 1].split(',').map(Number) : [1000, 5000, 20000];
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-depth-'));
  const rows: Row[] = [];
  try {
    for (const chain of ['relu', 'conv-bn-relu'] as const) {
      compileSeconds(dir, chain, 100); // warm-up
      let base = 0;
      for (const depth of sizes) {
        const { seconds, nodes } = compileSeconds(dir, chain, depth);
        if (!base) base = (seconds * 1000) / depth;
        rows.push({ chain, depth, nodes, compileSeconds: seconds, linearSeconds: (base * depth) / 1000, load1: loadavg()[0] });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  process.stdout.write('| chain | depth | nodes | compile (s) | linear from the first size (s) | ratio | load |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.chain} | ${r.depth} | ${r.nodes} | ${r.compileSeconds.toFixed(2)} | ${r.linearSeconds.toFixed(2)} | ${(r.compileSeconds / r.linearSeconds).toFixed(2)} | ${r.load1.toFixed(1)} |\n`);
  }
}
