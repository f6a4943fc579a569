// NumPy .npy files, the format the Python ML ecosystem reads and writes: `mpcc infer` takes
// its input and writes its output in it. Supported: little-endian float32 in C order, header
// versions 1.0, 2.0 and 3.0; float64 input is converted to float32 on read.
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

/** Decodes .npy bytes; `label` names the file in errors (MPCC3001 malformed, MPCC3003 dtype). */
export function decodeNpy(bytes: Uint8Array, label: string): NpyArray {
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
  const n = numel(shape);
  const dataStart = start + headerLen;
  const size = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (!size) throw diag('MPCC3003', [label, `'${descr}'`]);
  if (bytes.length - dataStart < n * size) throw bad(`data is truncated: ${bytes.length - dataStart} bytes for ${n} elements of ${size} bytes`);
  const data = new Float32Array(n);
  if (size === 4) for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  else for (let i = 0; i < n; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  return { shape, data, descr };
}

/** Reads a .npy file (MPCC0002 when it cannot be read). */
export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  return decodeNpy(bytes, path);
}

/** Encodes a float32 C-order array as .npy (version 1.0, or 2.0 when the header needs it). */
export function encodeNpy(shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  if (data.length !== numel(shape)) throw new RangeError(`npy: ${data.length} elements for shape [${shape.join(',')}]`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const v1 = dict.length + 1 + 10 <= 65535 + 10;
  const prefix = v1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(total + 4 * data.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  for (let i = 0; i < data.length; i++) view.setFloat32(total + 4 * i, data[i], true);
  return out;
}
