// The weights file (.weights) beside a .mir text, and saving/loading the pair. Layout:
//
//   "MPCW"  u32 version (1)  u32 index length  index (UTF-8 JSON)  zero padding
//   data: one blob per entry, each starting at a multiple of 64 bytes, little-endian
//
// The index is {"entries": [{name, dtype, shape, offset, length}], "sha256": hex of all bytes
// from the first blob to the end}. int64 is stored as real 64-bit integers (held in memory as
// Float64Array, see ir/types.ts), bool as one byte. The i-th entry is what `weights[i]` in the
// text refers to; its name must be the constant's name (or `node/attribute`).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { diag, InternalError } from '../runtime/diagnostics.js';
import type { Graph } from './graph.js';
import { buildGraph, parseMirSyntax } from './parse.js';
import { type WeightEntry, printGraphWithWeights } from './print.js';
import { Tensor, allocData } from './tensor.js';
import { DTYPES, type DType, numel } from './types.js';

/** First bytes of every weights file. */
export const WEIGHTS_MAGIC = 'MPCW';
/** Version of the weights file layout. */
export const WEIGHTS_VERSION = 1;
const ALIGN = 64;
const HEADER = 12;

const ITEM_BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, bool: 1 };

interface IndexEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function requireLittleEndian(): void {
  // Blobs are copied byte for byte from typed arrays, which use the host's byte order.
  if (endianness() !== 'LE') throw new InternalError('weights files are only supported on little-endian hosts');
}

/** Little-endian bytes of a tensor's elements. */
function tensorBytes(t: Tensor): Uint8Array {
  if (t.dtype === 'int64') {
    const ints = new BigInt64Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const v = Math.trunc(t.data[i]) || 0;
      // 2^63 (how INT64_MAX reads as a double) would wrap; clamp so it reads back as 2^63.
      ints[i] = v >= 2 ** 63 ? 0x7fffffffffffffffn : v < -(2 ** 63) ? -0x8000000000000000n : BigInt(v);
    }
    return new Uint8Array(ints.buffer);
  }
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** A weights file as a list of byte chunks (header with index, then padding and blobs), so it
 * can be written without first copying every tensor into one buffer. */
function weightsChunks(entries: readonly WeightEntry[]): Uint8Array[] {
  requireLittleEndian();
  const blobs = entries.map((e) => tensorBytes(e.tensor));
  const index: IndexEntry[] = [];
  // The data offsets depend on the index's length, which depends on the offsets' digits:
  // lay out with a guess, and redo until the index fits before the first blob.
  let dataStart = ALIGN;
  for (;;) {
    index.length = 0;
    let at = dataStart;
    entries.forEach((e, i) => {
      index.push({ name: e.name, dtype: e.tensor.dtype, shape: [...e.tensor.shape], offset: at, length: blobs[i].length });
      at = align(at + blobs[i].length);
    });
    const need = align(HEADER + Buffer.byteLength(JSON.stringify({ entries: index, sha256: '0'.repeat(64) })));
    if (need <= dataStart) break;
    dataStart = need;
  }
  const total = index.length ? align(index[index.length - 1].offset + index[index.length - 1].length) : dataStart;
  const zeros = new Uint8Array(ALIGN);
  const data: Uint8Array[] = [];
  let cursor = dataStart;
  blobs.forEach((blob, i) => {
    if (index[i].offset > cursor) data.push(zeros.subarray(0, index[i].offset - cursor));
    data.push(blob);
    cursor = index[i].offset + blob.length;
  });
  if (total > cursor) data.push(zeros.subarray(0, total - cursor));
  const hash = createHash('sha256');
  for (const chunk of data) hash.update(chunk);
  const json = Buffer.from(JSON.stringify({ entries: index, sha256: hash.digest('hex') }), 'utf8');
  const head = new Uint8Array(dataStart);
  head.set(Buffer.from(WEIGHTS_MAGIC, 'latin1'), 0);
  const view = new DataView(head.buffer);
  view.setUint32(4, WEIGHTS_VERSION, true);
  view.setUint32(8, json.length, true);
  head.set(json, HEADER);
  return [head, ...data];
}

/** Encodes tensors as a weights file. */
export function encodeWeights(entries: readonly WeightEntry[]): Uint8Array {
  const chunks = weightsChunks(entries);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Decodes a weights file; anything malformed is MPCC2004 naming `file`. */
export function decodeWeights(bytes: Uint8Array, file: string): WeightEntry[] {
  requireLittleEndian();
  const fail = (msg: string) => diag('MPCC2004', [file, msg]);
  if (bytes.length < HEADER || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== WEIGHTS_MAGIC) throw fail('not an mpcc weights file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== WEIGHTS_VERSION) throw fail(`unsupported version ${version} (this mpcc reads version ${WEIGHTS_VERSION})`);
  const indexLength = view.getUint32(8, true);
  if (HEADER + indexLength > bytes.length) throw fail('truncated index');
  let index: { entries: IndexEntry[]; sha256: string };
  try {
    index = JSON.parse(Buffer.from(bytes.subarray(HEADER, HEADER + indexLength)).toString('utf8'));
  } catch {
    throw fail('corrupt index');
  }
  if (!index || !Array.isArray(index.entries) || typeof index.sha256 !== 'string') throw fail('corrupt index');
  const dataStart = align(HEADER + indexLength);
  if (dataStart > bytes.length && index.entries.length) throw fail('truncated data');
  const digest = createHash('sha256').update(bytes.subarray(Math.min(dataStart, bytes.length))).digest('hex');
  if (digest !== index.sha256) throw fail('data checksum mismatch (truncated or corrupt file)');
  return index.entries.map((e, i) => {
    const ok = e && typeof e.name === 'string' && DTYPES.includes(e.dtype) && Array.isArray(e.shape) && e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Number.isInteger(e.offset) && Number.isInteger(e.length) && e.offset >= dataStart && e.offset + e.length <= bytes.length && e.length === numel(e.shape) * ITEM_BYTES[e.dtype];
    if (!ok) throw fail(`corrupt index entry ${i}`);
    return { name: e.name, tensor: new Tensor(e.dtype, e.shape, blobData(bytes, e)) };
  });
}

function blobData(bytes: Uint8Array, e: IndexEntry): Tensor['data'] {
  const n = numel(e.shape);
  const blob = bytes.subarray(e.offset, e.offset + e.length);
  if (e.dtype === 'int64') {
    const ints = new BigInt64Array(new Uint8Array(blob).buffer); // a copy: Buffer#slice would alias the file
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = Number(ints[i]);
    return out;
  }
  const at = bytes.byteOffset + e.offset;
  // Blobs are 64-byte aligned in the file, so where the file's buffer is aligned too the
  // tensors are views of it (no second copy of the weights); else copy into aligned storage.
  if (at % ITEM_BYTES[e.dtype] === 0) {
    switch (e.dtype) {
      case 'float32': return new Float32Array(bytes.buffer, at, n);
      case 'float64': return new Float64Array(bytes.buffer, at, n);
      case 'int32': return new Int32Array(bytes.buffer, at, n);
      case 'bool': return new Uint8Array(bytes.buffer, at, n);
    }
  }
  const data = allocData(e.dtype, n);
  new Uint8Array(data.buffer).set(blob);
  return data;
}

/** Writes `chunks` through a temporary file and a rename, so no half-written file remains. */
function writeAtomic(path: string, chunks: readonly (string | Uint8Array)[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      for (const chunk of chunks) {
        if (typeof chunk === 'string') writeSync(fd, chunk);
        else for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The directory itself could not be made: there is no temporary file to remove.
    }
    throw diag('MPCC0003', [path, (err as Error).message]);
  }
}

/** The .mir and .weights paths of `path` (with or without the .mir extension). */
export function mirPaths(path: string): { mir: string; weights: string } {
  const base = path.endsWith('.mir') ? path.slice(0, -4) : path;
  return { mir: `${base}.mir`, weights: `${base}.weights` };
}

/** Saves `g` as FILE.mir plus FILE.weights (each written atomically); returns both paths. */
export function saveMir(g: Graph, path: string): { mir: string; weights: string } {
  const paths = mirPaths(path);
  const { text, weights } = printGraphWithWeights(g, { weightsRef: basename(paths.weights) });
  writeAtomic(paths.weights, weightsChunks(weights));
  writeAtomic(paths.mir, [text]);
  return paths;
}

/** Loads a .mir file and the weights file it names into a verified, runnable graph. */
export function loadMir(path: string): Graph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  // a binary file named .mir (an ONNX model, a weights file): no character-level syntax error for it
  if (!text.startsWith('mir') && /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text.slice(0, 64))) {
    throw diag('MPCC2001', ["not .mir text: the file is binary (an ONNX model goes in a .onnx file; a .mir file begins 'mir 1')"], path);
  }
  const syntax = parseMirSyntax(text, path);
  if (!syntax.weightsRef) return buildGraph(syntax, text, { file: path });
  const weightsPath = join(dirname(path), syntax.weightsRef.value);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(weightsPath);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw diag('MPCC2004', [weightsPath, e.code === 'ENOENT' ? `missing (named by ${path})` : e.message]);
  }
  return buildGraph(syntax, text, { file: path, weights: decodeWeights(bytes, weightsPath), weightsFile: weightsPath });
}
