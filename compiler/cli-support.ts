// What every command shares: turning user errors into one line and exit code 2, writing output
// files only when the whole command succeeded, and progress lines on stderr (shown when stderr
// is a terminal or --progress is given, never with --quiet: see `progressSink`).
import { renameSync, writeFileSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Command, CommanderError } from 'commander';
import { MpccError, diag } from '../runtime/diagnostics.js';

/** Runs a command's action; a user error prints one line on stderr and exits with code 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      // what the command printed before it failed (a client's reports) reaches its reader too
      if (err instanceof MpccError) {
        process.stderr.write(`mpcc: ${err.format()}\n`);
        await exitAfterOutput(2);
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`mpcc: internal error: ${message}\n`);
      if (process.env.MPCC_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
      await exitAfterOutput(70);
    }
  };
}

/** Commander's own usage errors (an unknown flag or command, a required flag or argument
 * missing, one argument too many) as one coded line, MPCC0007, naming the help that lists the
 * flags, instead of commander's message and the whole help; exit 2 like every user error (help
 * and --version exit 0). Subcommands registered after this inherit it. */
export function usageErrors(program: Command): Command {
  return program
    .configureOutput({ outputError: () => undefined })
    .exitOverride((err: CommanderError) => {
      if (err.exitCode === 0) process.exit(0);
      // `mpcc` with no command: commander has printed the help itself, as an error
      if (err.code === 'commander.help') process.exit(2);
      const command = program.commands.find((c) => process.argv.slice(2).includes(c.name()));
      const help = command ? `mpcc ${command.name()} --help` : 'mpcc --help';
      process.stderr.write(`mpcc: ${diag('MPCC0007', [err.message.replace(/^error: /, ''), help]).format()}\n`);
      process.exit(2);
    });
}

/** Exits with `code` once what was written to stdout and stderr has left the process: a pipe's
 * writes are asynchronous, and process.exit alone drops what is still queued (a server's
 * reports of hundreds of inferences were cut off at 219 KB). */
export async function exitAfterOutput(code: number): Promise<never> {
  const flushed = Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  // a reader that never reads must not keep the process: it goes after FLUSH_WAIT_MS regardless
  await Promise.race([flushed, new Promise<void>((resolve) => setTimeout(resolve, FLUSH_WAIT_MS))]);
  process.exit(code);
}

/** How long exitAfterOutput waits for its output to leave. */
const FLUSH_WAIT_MS = 10_000;

/** What a SIGINT or SIGTERM must not leave behind: party processes a command started, its
 * temporary folders (which hold party keys and inputs), half-written files. Run newest first. */
const pending = new Set<() => void>();
let signalsWatched = false;

/** Registers `cleanup` until the returned function is called (when the work is done, or cleaned
 * up by its own code). While any is registered, SIGINT or SIGTERM runs every one, prints
 * MPCC0008 and exits with 128 + the signal's number (130, 143). */
export function cleanupOnSignal(cleanup: () => void): () => void {
  if (!signalsWatched) {
    signalsWatched = true;
    for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.on(sig, () => {
        if (pending.size === 0) process.exit(code);
        for (const c of [...pending].reverse()) {
          try {
            c();
          } catch {
            // the rest still runs
          }
        }
        process.stderr.write(`mpcc: ${diag('MPCC0008', [sig]).format()}\n`);
        process.exit(code);
      });
    }
  }
  pending.add(cleanup);
  return () => pending.delete(cleanup);
}

/** A long command with nothing of its own to undo on SIGINT or SIGTERM (its files are written
 * atomically at the end): the signal still says MPCC0008 on stderr, instead of exiting silently
 * after a progress line. */
export function sayStopOnSignal(): void {
  cleanupOnSignal(() => undefined);
}

/** `path`'s stat, or undefined when there is nothing there (or it cannot be reached). */
export function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Why `path` cannot become a file (or, with `folder`, a folder) mpcc writes: a folder where a
 * file goes (or a file where a folder goes), or a file where one of its parent folders would be;
 * null when nothing stands in the way (missing parents are created). */
export function outputPathProblem(path: string, folder = false): string | null {
  // the kernel's virtual file systems take no output (and Node's recursive mkdir loops on /proc)
  const virtual = /^\/(proc|sys)(\/|$)/.exec(resolve(path));
  if (virtual) return `it is under /${virtual[1]}, a virtual file system of the kernel, not a place for files`;
  // (a path under a file is ENOTDIR, undefined here: the loop below names that file)
  const at = statOf(path);
  if (at && folder && !at.isDirectory()) return 'it is a file, not a folder';
  if (at && !folder && at.isDirectory()) return 'it is a folder';
  for (let up = dirname(path), prev = path; up !== prev; prev = up, up = dirname(up)) {
    const s = statOf(up);
    if (s && !s.isDirectory()) return `'${up}' is a file, not a folder`;
    if (s) break;
  }
  return null;
}

/** MPCC0003 naming `path` when outputPathProblem finds one, or when it is (or lies inside) one
 * of the command's `inputs` (a file it reads, or a folder such as OUT): checked before the work. */
export function checkOutputPath(path: string, folder = false, inputs: readonly string[] = []): void {
  const problem = outputPathProblem(path, folder);
  if (problem) throw diag('MPCC0003', [path, problem]);
  // compared through symbolic links: a link to OUT is OUT
  const at = realResolve(path);
  const input = inputs.find((i) => at === realResolve(i) || at.startsWith(realResolve(i) + sep));
  if (input !== undefined) throw diag('MPCC0003', [path, at === realResolve(input) ? `it is this command's input: writing it would destroy '${input}'` : `it lies inside '${input}', this command's input, which writing it would change`]);
}

/** `path` absolute, its longest existing ancestor's symbolic links resolved. */
function realResolve(path: string): string {
  const full = resolve(path);
  for (let up = full, rest = ''; ; rest = rest ? join(basename(up), rest) : basename(up), up = dirname(up)) {
    try {
      return rest ? join(realpathSync(up), rest) : realpathSync(up);
    } catch {
      if (dirname(up) === up) return full;
    }
  }
}

/** Writes `data` to `path` through a temporary file and a rename, so no half-written file remains. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  checkOutputPath(path);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written there
    }
    throw diag('MPCC0003', [path, (err as Error).message]);
  }
}

/** Where a command's progress lines go: one call per line, without the `mpcc: ` prefix. */
export type ProgressSink = (line: string) => void;

/** The flags that decide whether a command shows progress (compiler/commands/flags.ts). */
export interface ProgressFlags {
  /** --quiet: no progress lines at all. */
  readonly quiet?: boolean;
  /** --progress: progress lines on stderr even when stderr is not a terminal (logs, CI). */
  readonly progress?: boolean;
}

/** A sink that drops every line. */
export const NO_PROGRESS: ProgressSink = () => undefined;

/** The sink a command function writes progress to: nothing with --quiet, else `sink`. Command
 * functions take their sink as a parameter (none by default, so tests and scripts that call
 * them stay silent unless they pass one); the CLI passes `stderrProgress`. */
export function commandProgress(flags: ProgressFlags, sink: ProgressSink): ProgressSink {
  return flags.quiet ? NO_PROGRESS : sink;
}

/** The CLI's progress sink: `mpcc: LINE` on stderr when stderr is a terminal or --progress is
 * given, nothing otherwise (and nothing with --quiet). When stderr is not a terminal the CLI
 * stays quiet: no test or script reads these lines, and a log that wants them asks with
 * --progress (as `mpcc run` asks the party processes whose lines it relays). */
export function stderrProgress(flags: ProgressFlags, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (flags.quiet || !(stream.isTTY || flags.progress)) return NO_PROGRESS;
  return (line) => stream.write(`mpcc: ${line}\n`);
}
