// `mpcc zoo NAME -o FILE.onnx`: writes one of the built-in models (deterministic random weights)
// as ONNX, optionally in another opset, with batch-norm folded, a symbolic batch, typed tensor
// fields or external data; `mpcc zoo --list` prints the names with a one-line description.
import type { Command } from 'commander';
import { basename, dirname, join } from 'node:path';
import { action, writeFileAtomic } from '../cli-support.js';
import { diag } from '../../runtime/diagnostics.js';
import { ZOO, buildZooFiles, checkZooOptions, zooEntry } from '../../examples/zoo/index.js';

/** Options of the zoo command. */
export interface ZooOptions {
  /** Where to write the model; required unless `list`. */
  readonly output?: string;
  /** Print the known models instead of building one. */
  readonly list?: boolean;
  /** Opset to write (as given on the command line). */
  readonly opset?: string | number;
  /** Fold BatchNormalization into the convs. */
  readonly foldBn?: boolean;
  /** Symbolic batch dimension. */
  readonly dynamicBatch?: boolean;
  /** Initializers in typed fields instead of raw_data. */
  readonly typedTensors?: boolean;
  /** Initializers in FILE.onnx.data next to the model. */
  readonly externalData?: boolean;
}

/** The `--list` text: one line per model, name padded, then its description. */
export function zooListing(): string {
  const width = Math.max(...ZOO.map((e) => e.name.length));
  return ZOO.map((e) => `${e.name.padEnd(width)}  ${e.description}\n`).join('');
}

/** Runs the zoo command: writes model `name` to `options.output`, or returns the listing. */
export function runZoo(name: string | undefined, options: ZooOptions): string {
  if (options.list) return zooListing();
  const entry = zooEntry(name ?? '');
  const opset = options.opset === undefined ? undefined : Number(options.opset);
  if (opset !== undefined && !Number.isInteger(opset)) throw diag('MPCC0004', ['--opset', options.opset, 'expected an integer']);
  const build = { opset, foldBatchNorm: options.foldBn, dynamicBatch: options.dynamicBatch, typedTensors: options.typedTensors };
  checkZooOptions(entry, build);
  const output = options.output;
  if (output === undefined) throw diag('MPCC0004', ['-o', '', 'an output file FILE.onnx is required']);
  const location = options.externalData ? `${basename(output)}.data` : undefined;
  const files = buildZooFiles(entry.name, build, location);
  // the data file first, so a model file never exists without the data it points to
  if (location !== undefined && files.externalData) writeFileAtomic(join(dirname(output), location), files.externalData);
  writeFileAtomic(output, files.model);
  return '';
}

/** Adds `mpcc zoo` to the program. */
export function registerZoo(program: Command): void {
  program
    .command('zoo')
    .description('write a built-in model (deterministic random weights) as an ONNX file')
    .argument('[name]', 'model name (see --list)')
    .option('-o, --output <file>', 'ONNX file to write')
    .option('--opset <n>', 'ONNX opset to write (11 to 18; default 13)')
    .option('--fold-bn', 'fold BatchNormalization into the preceding convs')
    .option('--dynamic-batch', "declare the batch dimension symbolic ('batch')")
    .option('--typed-tensors', 'write initializers in float_data/int64_data instead of raw_data')
    .option('--external-data', 'write initializers of 1 KiB or more to FILE.onnx.data next to the model')
    .option('--list', 'list the models with a one-line description')
    .action(
      action((name: string | undefined, options: ZooOptions) => {
        process.stdout.write(runZoo(name, options));
      }),
    );
}
