// `mpcc ir MODEL.onnx|FILE.mir`: loads a model, runs a pass pipeline (canonicalize by default)
// and prints the IR, or saves it as FILE.mir plus FILE.weights. --print-after-all shows the IR
// after every pass with a header line naming the pass: on stderr when the final IR goes to
// stdout (so stdout stays one clean .mir text), on stdout when -o writes the final IR to a file.
import type { Command } from 'commander';
import { extname } from 'node:path';
import { action } from '../cli-support.js';
import { loadGraphFile, parseInputShape } from '../load-model.js';
import { diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { printGraph } from '../../ir/print.js';
import { saveMir } from '../../ir/weights.js';
import { formatReports, parsePipeline, runPipeline } from '../../passes/index.js';

/** Options of the ir command, as commander hands them over. */
export interface IrOptions {
  /** Write FILE.mir (+ FILE.weights) instead of printing the IR. */
  readonly output?: string;
  /** Pipeline string (default `canonicalize`; `''` runs no pass). */
  readonly passes?: string;
  readonly printAfterAll?: boolean;
  /** Shape of the first input for ONNX models with symbolic dimensions, e.g. `1,3,224,224`. */
  readonly inputShape?: string;
  /** false with --no-verify: skip verification between passes. */
  readonly verify?: boolean;
  /** Print pass timings and statistics on stderr. */
  readonly stats?: boolean;
}

/** Where the command writes its text (process streams on the CLI, buffers in tests). */
export interface IrStreams {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the ir command; every output goes through `io`. Writes no file when anything fails. */
export function runIr(model: string, options: IrOptions, io: IrStreams): Graph {
  // Parse the pipeline before loading, so a typo fails at once and not after a long import.
  const steps = parsePipeline(options.passes ?? 'canonicalize');
  if (options.output !== undefined && extname(options.output) !== '.mir') throw diag('MPCC0004', ['-o', options.output, 'the output file must end in .mir']);
  const graph = loadGraphFile(model, { inputShape: parseInputShape(options.inputShape) });
  const showIntermediate = options.output === undefined ? io.stderr : io.stdout;
  const { graph: result, reports } = runPipeline(graph, steps, {
    verify: options.verify !== false,
    printAfter: options.printAfterAll ? (header, g) => showIntermediate(`${header}\n${printGraph(g)}`) : undefined,
  });
  if (options.output !== undefined) saveMir(result, options.output);
  else io.stdout(printGraph(result));
  if (options.stats) io.stderr(`${formatReports(reports)}\n${graph.nodes.length} nodes before, ${result.nodes.length} after\n`);
  return result;
}

/** Adds `mpcc ir` to the program. */
export function registerIr(program: Command): void {
  program
    .command('ir')
    .description('print the IR of a model after a pass pipeline (canonicalize by default)')
    .argument('<model>', 'MODEL.onnx or FILE.mir')
    .option('-o, --output <file.mir>', 'write FILE.mir and FILE.weights instead of printing')
    .option('--passes <list>', "pass pipeline, e.g. 'canonicalize,relu6-to-relu' (default: canonicalize; '' for none)")
    .option('--print-after-all', 'print the IR after every pass (stderr, or stdout with -o)')
    .option('--input-shape <dims>', 'shape of the first input of an ONNX model, e.g. 1,3,224,224')
    .option('--no-verify', 'do not verify the IR between passes')
    .option('--stats', 'print pass timings and statistics on stderr')
    .action(
      action((model: string, options: IrOptions) => {
        runIr(model, options, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
      }),
    );
}
