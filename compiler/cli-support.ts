// What every command shares: turning user errors into one line and exit code 2, writing output
// files only when the whole command succeeded, and progress lines on stderr.
import { renameSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { MpccError, diag } from '../runtime/diagnostics.js';

/** Runs a command's action; a user error prints one line on stderr and exits with code 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof MpccError) {
        process.stderr.write(`mpcc: ${err.format()}\n`);
        process.exit(2);
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`mpcc: internal error: ${message}\n`);
      if (process.env.MPCC_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
      process.exit(70);
    }
  };
}

/** Writes `data` to `path` through a temporary file and a rename, so no half-written file remains. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw diag('MPCC0003', [path, (err as Error).message]);
  }
}

/** Prints a progress line on stderr when stderr is a terminal and quiet mode is off. */
export function progress(message: string, quiet = false): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write(`mpcc: ${message}\n`);
}
