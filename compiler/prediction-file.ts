// `mpcc eval --predictions FILE` (compiler/commands/eval.ts, eval-secure.ts): the predicted class
// of every evaluated image (a classifier's, shape [n]) or of every pixel (a segmenter's, [n, H,
// W]), in the order evaluated (--sample's picks), as .npy: uint8 for up to 256 classes, else
// int32. A file another evaluation takes as its labels (their top-1 is then the agreement).
//
// Written as the evaluation goes, batch by batch, to FILE.tmp-<pid> beside FILE, and renamed to
// FILE once every image is in: a long evaluation keeps no prediction in memory, and a failed one
// leaves no FILE (nor a half-written one). A program revealing class indices whose classes are
// not recorded opens the file for int32 and narrows it to uint8 at the end when the classes seen
// allow.
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { diag } from '../runtime/diagnostics.js';
import { npyHeader } from './npy.js';
import { cleanupOnSignal, outputPathProblem } from './cli-support.js';

/** Classes a uint8 file holds. */
const NARROW_CLASSES = 256;

/** Elements converted at a time when a file is narrowed. */
const CHUNK = 1 << 20;

/** An .npy of predicted classes being written (see the top of this file). */
export class PredictionFile {
  private fd: number | null = null;
  private readonly tmp: string;
  private readonly headerBytes: number;
  private readonly wide: boolean;
  private at = 0;
  /** Predicted classes the file holds when done. */
  readonly size: number;

  /** Opens the file for `n` images of `map` classes each ([] for a classifier) of a model with
   * `classes` classes: MPCC0003 naming `path` when it cannot be written. */
  constructor(readonly path: string, readonly n: number, readonly map: readonly number[], classes: number) {
    this.size = n * map.reduce((a, b) => a * b, 1);
    this.wide = classes > NARROW_CLASSES;
    this.tmp = `${path}.tmp-${process.pid}`;
    const header = npyHeader([n, ...map], this.wide ? '<i4' : '|u1');
    this.headerBytes = header.length;
    this.guard(() => {
      const problem = outputPathProblem(path);
      if (problem) throw new Error(problem);
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(this.tmp, 'w');
      writeSync(this.fd, header);
    });
    // a SIGINT or SIGTERM leaves no half-written file (cli-support.ts)
    this.release = cleanupOnSignal(() => this.abort());
  }

  private release: () => void = () => undefined;

  /** Appends the next predicted classes, in the order evaluated. */
  add(classes: ArrayLike<number>): void {
    if (this.at + classes.length > this.size) throw new Error(`internal: ${this.at + classes.length} predictions for a file of ${this.size}`);
    const data = this.wide ? Int32Array.from(classes) : Uint8Array.from(classes);
    this.guard(() => writeSync(this.fd!, new Uint8Array(data.buffer, 0, data.byteLength)));
    this.at += classes.length;
  }

  /** Closes the file and renames it to its path; narrowed to uint8 first when it is int32 and
   * `classes`, the classes its values fall in, are few enough. */
  finish(classes?: number): void {
    if (this.at !== this.size) throw new Error(`internal: ${this.at} of ${this.size} predictions written`);
    this.guard(() => {
      closeSync(this.fd!);
      this.fd = null;
      if (this.wide && classes !== undefined && classes <= NARROW_CLASSES) this.narrow();
      renameSync(this.tmp, this.path);
    });
    this.release();
  }

  /** Removes what was written (the evaluation failed). */
  abort(): void {
    this.release();
    try {
      if (this.fd !== null) closeSync(this.fd);
    } catch {
      // closed already
    }
    this.fd = null;
    for (const f of [this.tmp, `${this.tmp}.u1`]) {
      try {
        rmSync(f, { force: true });
      } catch {
        // never made (its folder cannot hold it)
      }
    }
  }

  /** Rewrites the int32 file at tmp as uint8, chunk by chunk. */
  private narrow(): void {
    const from = openSync(this.tmp, 'r');
    const narrowed = `${this.tmp}.u1`;
    const to = openSync(narrowed, 'w');
    try {
      writeSync(to, npyHeader([this.n, ...this.map], '|u1'));
      const buf = new Int32Array(CHUNK);
      for (let done = 0; done < this.size; ) {
        const count = Math.min(CHUNK, this.size - done);
        readSync(from, new Uint8Array(buf.buffer, 0, 4 * count), 0, 4 * count, this.headerBytes + 4 * done);
        writeSync(to, Uint8Array.from(buf.subarray(0, count)));
        done += count;
      }
    } finally {
      closeSync(from);
      closeSync(to);
    }
    renameSync(narrowed, this.tmp);
  }

  /** Runs a file operation: on failure, what was written is removed and MPCC0003 names the file. */
  private guard(op: () => void): void {
    try {
      op();
    } catch (err) {
      this.abort();
      throw diag('MPCC0003', [this.path, (err as Error).message]);
    }
  }
}
