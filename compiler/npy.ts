// NumPy .npy files, the format the Python ML ecosystem reads and writes: `mpcc infer` takes
// its input and writes its output in it, `mpcc eval` its images and labels. Supported:
// little-endian arrays in C order, header versions 1.0, 2.0 and 3.0; float32 (float64 converted
// on read) for images and inputs, integers of 1 to 8 bytes for labels.
import { readFileSync } from 'node:fs';
import { diag } from '../runtime/diagnostics.js';
import { numel } from '../ir/types.js';

/** A decoded .npy array. */
export interface NpyArray {
  readonly shape: number[];
  /** Elements in C order, as float32. */
  readonly data: Float32Array;
  /** The file's dtype descriptor, e.g. '<f4'. */
  readonly descr: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The parsed header of a .npy file: dtype descriptor, shape, where the data starts. */
interface NpyHeader {
  readonly descr: string;
  readonly shape: number[];
  readonly dataStart: number;
  readonly view: DataView;
}

/** Parses the magic and header of .npy bytes (MPCC3001 naming `label` when malformed). */
function parseHeader(bytes: Uint8Array, label: string): NpyHeader {
  const bad = (why: string) => diag('MPCC3001', [label, why]);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('missing the \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, start: number;
  if (major === 1) { headerLen = view.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = view.getUint32(8, true); start = 12;
  } else throw bad(`unsupported format version ${major}.${bytes[7]}`);
  if (start + headerLen > bytes.length) throw bad('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('header lacks descr, fortran_order or shape');
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported; save a C-order array (numpy.ascontiguousarray)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`invalid shape (${shapeText})`);
  return { descr, shape, dataStart: start + headerLen, view };
}

/** Fails with MPCC3001 when fewer than `n` elements of `size` bytes follow the header. */
function checkLength(h: NpyHeader, n: number, size: number, label: string): void {
  const have = h.view.byteLength - h.dataStart;
  if (have < n * size) throw diag('MPCC3001', [label, `data is truncated: ${have} bytes for ${n} elements of ${size} bytes`]);
}

/** Decodes .npy bytes; `label` names the file in errors (MPCC3001 malformed, MPCC3003 dtype). */
export function decodeNpy(bytes: Uint8Array, label: string): NpyArray {
  const h = parseHeader(bytes, label);
  const { descr, shape, dataStart, view } = h;
  const n = numel(shape);
  // float32 or float64, little- or big-endian ('>f4' from a big-endian machine or numpy's byteswap)
  const m = /^([<>=])f([48])$/.exec(descr);
  const size = m ? Number(m[2]) : 0;
  if (!size) throw diag('MPCC3003', [label, `'${descr}'`]);
  const little = m![1] !== '>';
  checkLength(h, n, size, label);
  const data = new Float32Array(n);
  if (size === 4) for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + 4 * i, little);
  else for (let i = 0; i < n; i++) data[i] = view.getFloat64(dataStart + 8 * i, little);
  return { shape, data, descr };
}

/** A decoded .npy array of integers (labels). */
export interface NpyIntegers {
  readonly shape: number[];
  /** Elements in C order. */
  readonly data: Int32Array;
  /** The file's dtype descriptor, e.g. '<i8'. */
  readonly descr: string;
}

/** Integer dtypes by descriptor: bytes per element and a reader of its byte order. */
const INTEGER_DTYPES: Readonly<Record<string, { size: number; read: (v: DataView, at: number) => number }>> = {
  '|u1': { size: 1, read: (v, at) => v.getUint8(at) },
  '|i1': { size: 1, read: (v, at) => v.getInt8(at) },
  ...endian('<', true),
  ...endian('>', false),
};

/** The multi-byte integer dtypes of one byte order ('<' little, '>' big). */
function endian(order: '<' | '>', little: boolean): Record<string, { size: number; read: (v: DataView, at: number) => number }> {
  return {
    [`${order}u2`]: { size: 2, read: (v, at) => v.getUint16(at, little) },
    [`${order}i2`]: { size: 2, read: (v, at) => v.getInt16(at, little) },
    [`${order}u4`]: { size: 4, read: (v, at) => v.getUint32(at, little) },
    [`${order}i4`]: { size: 4, read: (v, at) => v.getInt32(at, little) },
    [`${order}u8`]: { size: 8, read: (v, at) => Number(v.getBigUint64(at, little)) },
    [`${order}i8`]: { size: 8, read: (v, at) => Number(v.getBigInt64(at, little)) },
  };
}

/** Decodes .npy bytes of integers (uint8 … int64, as labels are saved); values must fit in
 * int32. MPCC3001 when malformed, MPCC3008 for another dtype or a value out of range. */
export function decodeNpyIntegers(bytes: Uint8Array, label: string): NpyIntegers {
  const h = parseHeader(bytes, label);
  const dtype = INTEGER_DTYPES[h.descr.replace(/^=/, '<').replace(/^[<>]([ui]1)$/, '|$1')];
  if (!dtype) throw diag('MPCC3008', [label, `'${h.descr}'`, 'expected integers (int64, int32, int16, int8 or their unsigned forms)']);
  const n = numel(h.shape);
  checkLength(h, n, dtype.size, label);
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = dtype.read(h.view, h.dataStart + dtype.size * i);
    if (v < -0x80000000 || v > 0x7fffffff) throw diag('MPCC3008', [label, `'${h.descr}'`, `value ${v} at index ${i} is out of the 32-bit range`]);
    data[i] = v;
  }
  return { shape: h.shape, data, descr: h.descr };
}

/** The bytes of file `path` (MPCC0002 when it cannot be read). */
export function readFileBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
}

/** Reads a .npy file of integers (see decodeNpyIntegers). */
export function readNpyIntegers(path: string): NpyIntegers {
  return decodeNpyIntegers(readFileBytes(path), path);
}

/** Reads a .npy file (MPCC0002 when it cannot be read). */
export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileBytes(path), path);
}

/** Element types `encodeNpy` writes, by their .npy descriptor. */
const ENCODERS = {
  '<f4': { size: 4, write: (v: DataView, at: number, x: number) => v.setFloat32(at, x, true) },
  '<i8': { size: 8, write: (v: DataView, at: number, x: number) => v.setBigInt64(at, BigInt(x), true) },
  '<i4': { size: 4, write: (v: DataView, at: number, x: number) => v.setInt32(at, x, true) },
  '|u1': { size: 1, write: (v: DataView, at: number, x: number) => v.setUint8(at, x) },
} as const;

/** The .npy header (version 1.0, or 2.0 when the header needs it) of a C-order array of `shape`
 * and element type `descr`: the bytes before its data. */
export function npyHeader(shape: readonly number[], descr: keyof typeof ENCODERS): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const v1 = dict.length + 1 + 10 <= 65535 + 10;
  const prefix = v1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  return out;
}

/** Encodes a C-order array as .npy (npyHeader's header): float32 by default, or int64, int32,
 * uint8 (integer values). */
export function encodeNpy(shape: readonly number[], data: ArrayLike<number>, descr: keyof typeof ENCODERS = '<f4'): Uint8Array {
  const enc = ENCODERS[descr];
  if (data.length !== numel(shape)) throw new RangeError(`npy: ${data.length} elements for shape [${shape.join(',')}]`);
  const header = npyHeader(shape, descr);
  const total = header.length;
  const out = new Uint8Array(total + enc.size * data.length);
  out.set(header, 0);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) enc.write(view, total + enc.size * i, data[i]);
  return out;
}
