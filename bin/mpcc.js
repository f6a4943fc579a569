#!/usr/bin/env node
// Entry point of the `mpcc` command: runs the compiled CLI from dist/ (built by `npm run build`;
// `npm ci` runs no scripts, see the README's set-up).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'compiler', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('mpcc: error MPCC0001: the compiled CLI is missing (dist/compiler/cli.js); run `npm run build` first\n');
  process.exit(2);
}
await import(pathToFileURL(cli).href);
