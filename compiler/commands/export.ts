// `mpcc export MODEL [--plan P] -o out.onnx`: the canonicalized model as standard ONNX
// (compiler/onnx/export.ts), or with --plan the planned network, its BlockRelu layers written with
// standard operators, so onnxruntime runs it and PyTorch users can import it to fine-tune. The
// model goes through the driver (canonicalize by default, --passes to choose), then the plan's
// `insert-block-relu` pass; the file is written only when the whole export succeeded. With
// --reconstruct (and --calib) the weights that read planned activations are refit on the
// calibration images first (compiler/commands/reconstruct-flags.ts): a standard ONNX with the new
// weights, which onnxruntime runs and PyTorch users can fine-tune further.
import type { Command } from 'commander';
import { extname } from 'node:path';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, commandProgress, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { DEFAULT_PASSES, driveModel } from '../driver.js';
import { exportOnnx } from '../onnx/export.js';
import { withBatch } from '../eval-batch.js';
import { diag } from '../../runtime/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import { type ReconstructFlags, refitForCommand, refitRequestFrom, withReconstructFlags } from './reconstruct-flags.js';
import { inputShapeOption, outputOption, parseInputShape, passesOption, planOption, requireOutput, withProgressFlags } from './flags.js';

/** Options of the export command, as commander hands them over. */
export interface ExportCommandOptions extends ProgressFlags, ReconstructFlags {
  /** Where to write the ONNX model (required, ends in .onnx). */
  readonly output?: string;
  /** A plan file: its BlockRelu layers are inserted (pass insert-block-relu) before the export. */
  readonly plan?: string;
  /** Passes to run first (default canonicalize), as in every command. */
  readonly passes?: string;
  /** Shape of the first input of an ONNX model with symbolic dimensions. */
  readonly inputShape?: string;
  /** --dynamic-batch: axis 0 of the input and outputs written as the symbolic 'batch'. */
  readonly dynamicBatch?: boolean;
}

/** Exports `model` to `options.output`; returns the graph written. Progress lines go to `sink`. */
export function runExport(model: string, options: ExportCommandOptions, sink: ProgressSink = NO_PROGRESS): Graph {
  const output = requireOutput(options.output, 'the ONNX file to write (-o out.onnx)', false, [model, ...(options.plan === undefined ? [] : [options.plan])]);
  if (extname(output).toLowerCase() !== '.onnx') throw diag('MPCC0004', ['-o', output, 'the output file must end in .onnx']);
  const log = commandProgress(options, sink);
  const refitRequest = refitRequestFrom(options as ExportCommandOptions & Record<string, unknown>);
  const driven = driveModel(model, { passes: options.passes, target: 'float', inputShape: parseInputShape(options.inputShape), planFile: refitRequest ? undefined : options.plan, log });
  const refit = refitRequest ? refitForCommand(model, driven.graph, options.plan!, refitRequest, 'float', undefined, log) : undefined;
  const planned = refit?.graph ?? driven.graph;
  const how = options.plan === undefined ? '' : ` under plan ${options.plan}${refit ? `, weights refit on ${refit.calibration.samples} images of ${refit.calibration.path}` : ''}`;
  // a symbolic batch only for a network that takes any (nothing along axis 0, no batch mixed in)
  if (options.dynamicBatch && withBatch(planned, planned.types.get(planned.inputs[0])?.shape[0] === 2 ? 3 : 2) === undefined) {
    throw diag('MPCC0004', ['--dynamic-batch', '', `the network works across its batch (an op along axis 0, or a Flatten, Transpose or Reshape mixing it in): it is written at batch ${planned.types.get(planned.inputs[0])?.shape[0]} only`]);
  }
  const bytes = exportOnnx(planned, { doc: `mpcc export of ${model}${how}`, dynamicBatch: options.dynamicBatch });
  writeFileAtomic(output, bytes);
  log(`wrote ${output} (${planned.nodes.length} IR nodes, ${bytes.length} bytes)`);
  return planned;
}

/** Adds `mpcc export` to the program. */
export function registerExport(program: Command): void {
  withProgressFlags(
    withReconstructFlags(program
      .command('export')
      .description('write the canonicalized (or, with --plan, the planned) network as standard ONNX')
      .argument('<model>', 'MODEL.onnx or FILE.mir (float)')
      .addOption(outputOption('the ONNX file to write'))
      .addOption(planOption())
      .addOption(passesOption(`${DEFAULT_PASSES}; float-level passes only`))
      .addOption(inputShapeOption())
      .option('--dynamic-batch', "write the batch axis as the symbolic 'batch' (for fine-tuning at any batch size; refused for a network that works across its batch)"))
  ).action(
    action((model: string, options: ExportCommandOptions) => {
      runExport(model, options, stderrProgress(options));
    }),
  );
}
