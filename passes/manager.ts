// The pass manager: runs a pipeline's passes in order, verifies the IR after each one (so a
// broken pass is caught where it broke the IR, not three passes later), optionally shows the
// IR after each pass, and times every pass and collects its statistics.
import { performance } from 'node:perf_hooks';
import type { Graph } from '../ir/graph.js';
import { MpccError, diag } from '../runtime/diagnostics.js';
import { verify } from '../ir/verify.js';
import { makeContext } from './pass.js';
import { type PipelineStep, formatStep, parsePipeline } from './pipeline.js';

/** How the manager runs a pipeline. */
export interface PassManagerOptions {
  /** Verify the IR after every pass (default true). */
  readonly verify?: boolean;
  /** Called with the IR after every pass (`--print-after-all`); `header` names the pass. */
  readonly printAfter?: (header: string, graph: Graph, report: PassReport) => void;
}

/** What one pass did: its spelling, time, statistics and whether the graph changed. */
export interface PassReport {
  /** The step as written in pipeline syntax (`fold-constants{max-size=10}`). */
  readonly step: string;
  /** The named pipeline it came from, if any. */
  readonly via?: string;
  readonly millis: number;
  readonly stats: ReadonlyMap<string, number>;
  readonly changed: boolean;
}

/** The result of running a pipeline. */
export interface PipelineResult {
  readonly graph: Graph;
  readonly reports: readonly PassReport[];
}

/** Runs `pipeline` (a string or parsed steps) on `graph`. */
export function runPipeline(graph: Graph, pipeline: string | readonly PipelineStep[], opts: PassManagerOptions = {}): PipelineResult {
  const steps = typeof pipeline === 'string' ? parsePipeline(pipeline) : pipeline;
  const reports: PassReport[] = [];
  let g = graph;
  for (const step of steps) {
    const stats = new Map<string, number>();
    const start = performance.now();
    const next = step.pass.run(g, makeContext(step.options, stats));
    const millis = performance.now() - start;
    if (opts.verify !== false && next !== g) {
      try {
        verify(next);
      } catch (err) {
        if (err instanceof MpccError) throw diag('MPCC4005', [formatStep(step), err.message]);
        throw err;
      }
    }
    const report: PassReport = { step: formatStep(step), via: step.via, millis, stats, changed: next !== g };
    reports.push(report);
    g = next;
    opts.printAfter?.(`// ----- IR after ${report.step}${report.via ? ` (${report.via})` : ''} -----`, g, report);
  }
  return { graph: g, reports };
}

/** A readable table of pass timings and statistics (for `--stats`). */
export function formatReports(reports: readonly PassReport[]): string {
  const lines: string[] = [];
  const width = Math.max(4, ...reports.map((r) => r.step.length));
  let total = 0;
  for (const r of reports) {
    total += r.millis;
    const stats = [...r.stats].map(([label, n]) => `${label}: ${n.toLocaleString('en-US')}`).join(', ');
    lines.push(`${r.step.padEnd(width)}  ${r.millis.toFixed(1).padStart(8)} ms  ${stats || (r.changed ? 'changed' : 'no change')}`);
  }
  lines.push(`${'total'.padEnd(width)}  ${total.toFixed(1).padStart(8)} ms`);
  return lines.join('\n');
}
