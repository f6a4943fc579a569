// Benchmark dispatcher: `npm run bench -- NAME [--json]` runs bench/NAME.ts's run().
// Each benchmark prints a table (or with --json one JSON array) of figures, each beside a
// baseline measured in the same run.

/** A benchmark module: run(args) prints its results. */
export interface Benchmark {
  run(args: string[]): Promise<void>;
}

/** The benchmarks by name (loaded lazily so one benchmark's imports do not slow another). */
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  ring: () => import('./ring.js'),
  interp: () => import('./interp.js'),
  passes: () => import('./passes.js'),
  protocols: () => import('./protocols.js'),
  transport: () => import('./transport.js'),
  mir: () => import('./mir.js'),
  e2e: () => import('./e2e.js'),
  fixed: () => import('./fixed.js'),
  kernels: () => import('./kernels.js'),
  eval: () => import('./eval.js'),
  depth: () => import('./depth.js'),
  knapsack: () => import('./knapsack.js'),
  narrow: () => import('./narrow.js'),
  serving: () => import('./serving.js'),
  'plan-fast': () => import('./plan-fast.js'),
  plan: () => import('./plan.js'),
  refit: () => import('./refit.js'),
  maxpool: () => import('./maxpool.js'),
  'pool-budget': () => import('./pool-budget.js'),
  'ring-width': () => import('./ring-width.js'),
  segmentation: () => import('./segmentation.js'),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name ? BENCHMARKS[name] : undefined;
  if (!load) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [--json]\n`);
    process.exit(2);
  }
  await (await load()).run(args);
}

await main();
