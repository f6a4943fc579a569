// `npm run bench -- depth [--json] [--sizes 1000,5000,10000,20000] [--shapes relu,add]`: `mpcc
// compile` time against the depth of a model, on chains of every shape of
// `examples/zoo/chains.ts` (ReLU; ReLU-MaxPool; Conv-ReLU; Conv-BatchNormalization-ReLU; residual
// blocks; Adds) with `--sizes` nodes each (tiny 4×8×8 maps, so the time is the compiler's per-node
// work, not arithmetic). Each row gives the wall time and the process's CPU time (user + system,
// all threads: what other processes on the machine inflate least), the CPU time per 1,000 nodes
// and its ratio to the previous size's: near 1 means linear in depth, 2 quadratic when the size
// doubles.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../compiler/commands/compile.js';
import { CHAIN_BLOCK_NODES, CHAIN_SHAPES, type ChainShape, chainModel } from '../examples/zoo/chains.js';

/** One row (times in seconds). */
interface Row {
  chain: ChainShape;
  nodes: number;
  compileSeconds: number;
  cpuSeconds: number;
  /** CPU seconds per 1,000 nodes. */
  perThousand: number;
  /** perThousand over the previous (smaller) size's: 1 is linear. */
  growth?: number;
  load1: number;
}

/** Seconds of one in-process `mpcc compile` of the chain. */
function compileSeconds(dir: string, chain: ChainShape, size: number): { seconds: number; cpu: number; nodes: number } {
  const { bytes, nodes } = chainModel(chain, Math.max(1, Math.round(size / CHAIN_BLOCK_NODES[chain])));
  const model = join(dir, `${chain}-${size}.onnx`);
  writeFileSync(model, bytes);
  const out = join(dir, `${chain}-${size}.out`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  runCompile(model, { output: out });
  const c = process.cpuUsage(c0);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return { seconds, cpu: (c.user + c.system) / 1e6, nodes };
}

/** Runs the benchmark and prints its table (or JSON). */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const sizes = (option('--sizes') ?? '1000,5000,10000,20000').split(',').map(Number);
  const shapes = (option('--shapes')?.split(',') ?? CHAIN_SHAPES) as ChainShape[];
  for (const s of shapes) if (!CHAIN_SHAPES.includes(s)) throw new Error(`unknown chain shape '${s}' (${CHAIN_SHAPES.join(', ')})`);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-depth-'));
  const rows: Row[] = [];
  try {
    for (const chain of shapes) {
      compileSeconds(dir, chain, 200); // warm-up
      let previous: number | undefined;
      for (const size of sizes) {
        const { seconds, cpu, nodes } = compileSeconds(dir, chain, size);
        const perThousand = (cpu * 1000) / nodes;
        rows.push({ chain, nodes, compileSeconds: seconds, cpuSeconds: cpu, perThousand, growth: previous ? perThousand / previous : undefined, load1: loadavg()[0] });
        previous = perThousand;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  process.stdout.write('| chain | nodes | compile, wall (s) | CPU (s) | CPU s per 1,000 nodes | against the previous size | load |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.chain} | ${r.nodes} | ${r.compileSeconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${r.perThousand.toFixed(3)} | ${r.growth === undefined ? '—' : r.growth.toFixed(2)} | ${r.load1.toFixed(1)} |\n`);
  }
}
