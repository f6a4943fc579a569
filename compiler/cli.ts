// The mpcc command line: only wires the commands; each command file declares its own flags
// and calls a function that tests can call without a subprocess.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.js';
import { usageErrors } from './cli-support.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('mpcc')
  .description('Compile ONNX convolutional networks into three-party secure inference programs')
  .version(pkg.version, '-V, --version');
usageErrors(program);

registerCommands(program);
await program.parseAsync(process.argv);
