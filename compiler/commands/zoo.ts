// `mpcc zoo NAME -o FILE.onnx`: writes one of the built-in models (deterministic random weights)
// as ONNX, optionally in another opset or with batch-norm folded; `mpcc zoo --list` prints the
// names with a one-line description.
import type { Command } from 'commander';
import { action, writeFileAtomic } from '../cli-support.js';
import { diag } from '../../ir/diagnostics.js';
import { ZOO, checkZooOptions, zooEntry } from '../../examples/zoo/index.js';

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
  checkZooOptions(entry, { opset });
  if (options.output === undefined) throw diag('MPCC0004', ['-o', '', 'an output file FILE.onnx is required']);
  writeFileAtomic(options.output, entry.build({ opset: opset ?? entry.opsets[0], foldBatchNorm: options.foldBn ?? false }));
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
    .option('--list', 'list the models with a one-line description')
    .action(
      action((name: string | undefined, options: ZooOptions) => {
        process.stdout.write(runZoo(name, options));
      }),
    );
}
