// Decoding of ONNX files: ModelProto bytes → plain objects the importer walks (nodes with
// plain attribute values, tensors as IR Tensors). Only this file and writer.ts touch
// onnx-proto. Tensor data may sit in raw_data (little endian), in typed fields (int64 values
// arrive as Long objects from protobufjs) or in an external file next to the model.
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';
import { openSync, readSync, closeSync, fstatSync, lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { diag } from '../../runtime/diagnostics.js';
import { Tensor, allocData } from '../../ir/tensor.js';
import { type DType, numel } from '../../ir/types.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

/** A 64-bit integer as protobufjs hands it out: a number or a Long. */
type Int64 = number | { toNumber(): number };

/** Converts a protobufjs int64 (number or Long) to a number (exact below 2^53). */
export function toNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** An attribute value after decoding (graphs and sparse tensors are left out). */
export type OnnxAttr = number | string | number[] | string[] | Tensor;

/** One ONNX node with decoded attributes. */
export interface OnnxNode {
  readonly opType: string;
  readonly domain: string;
  /** The node's name, or `<op>_<index>` when the file gives none. */
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, OnnxAttr>;
}

/** A graph input or output: name, element type and dims (a string for a symbolic dim). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType | undefined;
  /** undefined when the file gives no shape at all. */
  readonly dims: readonly (number | string)[] | undefined;
}

/** A decoded model: default-domain opset, inputs, initializers, nodes, outputs. */
export interface OnnxModel {
  readonly opset: number;
  readonly producer: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  readonly nodes: readonly OnnxNode[];
}

/** Where the model came from: its path locates external data files. */
export interface ReadOptions {
  readonly path?: string;
}

/** What bytes that do not decode look like: an ONNX file begins with its IR version (field 1,
 * varint: byte 0x08), so another first byte names the file's kind, else it is cut short. */
export function notOnnxHint(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const starts = (...b: number[]) => b.every((v, i) => head[i] === v);
  if (head[0] === 0x08) return 'the file may be truncated';
  if (starts(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)) return 'it is a NumPy .npy array, not a model';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'it is a PNG image, not a model';
  if (starts(0xff, 0xd8, 0xff)) return 'it is a JPEG image, not a model';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'it is a zip archive (a PyTorch .pt/.pth checkpoint?), not an ONNX model: export it with torch.onnx.export';
  const text = bytes.subarray(0, 64);
  if (text.length > 0 && text.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))) {
    return `it is text (it begins '${new TextDecoder().decode(bytes.subarray(0, 24)).replace(/\s+/g, ' ')}${bytes.length > 24 ? '…' : ''}'), not an ONNX model`;
  }
  return 'it does not begin as an ONNX model does (its IR version first)';
}

/** Decodes model bytes; throws MPCC1002 for anything that is not a usable ONNX model. */
export function readOnnxModel(bytes: Uint8Array, opts: ReadOptions = {}): OnnxModel {
  const label = opts.path ?? '<bytes>';
  let model: proto.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw diag('MPCC1002', [label, `cannot decode protobuf (${(err as Error).message}); ${notOnnxHint(bytes)}`]);
  }
  const graph = model.graph;
  if (!graph || toNumber(model.irVersion) <= 0) throw diag('MPCC1002', [label, 'no ONNX graph or IR version found']);
  if ((graph.output ?? []).length === 0) throw diag('MPCC1002', [label, 'the graph has no outputs']);
  const defaultOpset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultOpset ? toNumber(defaultOpset.version) : 1;
  const baseDir = dirname(resolve(opts.path ?? '.'));
  const initializers = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) {
    if (initializers.has(t.name ?? '')) throw diag('MPCC1002', [label, `initializer '${t.name ?? ''}' is defined twice`]);
    initializers.set(t.name ?? '', readTensor(t, baseDir, label));
  }
  const nodes = (graph.node ?? []).map((n, i) => readNode(n, i, baseDir, label));
  return {
    opset,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    inputs: (graph.input ?? []).map(readValueInfo),
    outputs: (graph.output ?? []).map(readValueInfo),
    initializers,
    nodes,
  };
}

function readValueInfo(v: proto.IValueInfoProto): OnnxValueInfo {
  const tt = v.type?.tensorType;
  const dtype = tt?.elemType ? dtypeOf(tt.elemType) : undefined;
  const dims = tt?.shape ? tt.shape.dim!.map(readDim) : undefined;
  return { name: v.name ?? '', dtype, dims };
}

/** A dim's size, or its symbolic name ('?' when the file gives neither). */
function readDim(d: proto.TensorShapeProto.IDimension): number | string {
  if (d.dimParam) return d.dimParam;
  if (Object.prototype.hasOwnProperty.call(d, 'dimValue')) return toNumber(d.dimValue as Int64);
  return '?';
}

function readNode(n: proto.INodeProto, index: number, baseDir: string, label: string): OnnxNode {
  const opType = n.opType ?? '';
  const attrs = new Map<string, OnnxAttr>();
  for (const a of n.attribute ?? []) {
    const value = readAttr(a, baseDir, label);
    if (value !== undefined) attrs.set(a.name ?? '', value);
  }
  return { opType, domain: n.domain ?? '', name: n.name || `${opType}_${index}`, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
}

const utf8 = new TextDecoder();

function readAttr(a: proto.IAttributeProto, baseDir: string, label: string): OnnxAttr | undefined {
  let type = a.type ?? AttrType.UNDEFINED;
  if (type === AttrType.UNDEFINED) {
    // very old files leave the type out: infer it from the field that is set
    if (a.ints?.length) type = AttrType.INTS;
    else if (a.floats?.length) type = AttrType.FLOATS;
    else if (a.strings?.length) type = AttrType.STRINGS;
    else if (a.t) type = AttrType.TENSOR;
    else if (a.s?.length) type = AttrType.STRING;
    else if (a.f) type = AttrType.FLOAT;
    else type = AttrType.INT;
  }
  switch (type) {
    case AttrType.INT: return toNumber(a.i as Int64);
    case AttrType.FLOAT: return a.f ?? 0;
    case AttrType.STRING: return utf8.decode(a.s ?? new Uint8Array());
    case AttrType.INTS: return (a.ints ?? []).map((v) => toNumber(v as Int64));
    case AttrType.FLOATS: return [...(a.floats ?? [])];
    case AttrType.STRINGS: return (a.strings ?? []).map((s) => utf8.decode(s));
    case AttrType.TENSOR: return a.t ? readTensor(a.t, baseDir, label) : undefined;
    default: return undefined;
  }
}

/** The IR dtype that holds ONNX element type `t` (narrow integers widen to int32, float16 to float32). */
function dtypeOf(t: number): DType | undefined {
  switch (t) {
    case DataType.FLOAT: case DataType.FLOAT16: return 'float32';
    case DataType.DOUBLE: return 'float64';
    case DataType.INT64: case DataType.UINT32: return 'int64';
    case DataType.INT32: case DataType.INT16: case DataType.UINT16: case DataType.INT8: case DataType.UINT8: return 'int32';
    case DataType.BOOL: return 'bool';
    default: return undefined;
  }
}

/** ONNX element type names for messages. */
function dataTypeName(t: number): string {
  return (DataType as unknown as Record<number, string>)[t] ?? String(t);
}

/** Converts a TensorProto to an IR Tensor, reading external data relative to `baseDir`. */
export function readTensor(t: proto.ITensorProto, baseDir: string, label = '<model>'): Tensor {
  const name = t.name ?? '';
  const elemType = t.dataType ?? 0;
  const dtype = dtypeOf(elemType);
  if (!dtype) throw diag('MPCC1007', [name, dataTypeName(elemType)]);
  const shape = (t.dims ?? []).map((d) => toNumber(d as Int64));
  const bad = shape.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined) throw diag('MPCC1002', [label, `tensor '${name}' has dimension ${bad} in [${shape.join(',')}]`]);
  const n = numel(shape);
  // the data must be there before anything is allocated: a hostile shape costs nothing
  const size = ELEM_BYTES[elemType];
  let raw: Uint8Array | undefined = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = readExternal(t, baseDir, label, n * size);
  if (raw) {
    if (raw.length !== size * n) throw diag('MPCC1002', [label, `tensor '${name}' has ${raw.length} data bytes, expected ${size * n} for shape [${shape.join(',')}]`]);
    const out = allocData(dtype, n);
    decodeRaw(raw, elemType, out);
    return new Tensor(dtype, shape, out);
  }
  const fields: ArrayLike<Int64>[] = [t.floatData ?? [], t.int32Data ?? [], t.int64Data ?? [], t.doubleData ?? [], t.uint64Data ?? []];
  const src = fields.find((f) => f.length > 0) ?? [];
  if (src.length !== n) throw diag('MPCC1002', [label, `tensor '${name}' has ${src.length} values for shape [${shape.join(',')}]`]);
  const out = allocData(dtype, n);
  if (elemType === DataType.FLOAT16) for (let i = 0; i < n; i++) out[i] = halfToFloat(toNumber(src[i]));
  else for (let i = 0; i < n; i++) out[i] = toNumber(src[i]);
  return new Tensor(dtype, shape, out);
}

const ELEM_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT64]: 8, [DataType.UINT32]: 4, [DataType.INT32]: 4,
  [DataType.INT16]: 2, [DataType.UINT16]: 2, [DataType.INT8]: 1, [DataType.UINT8]: 1, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2,
};

/** Decodes little-endian `raw` (its length checked by the caller) into `out`. */
function decodeRaw(raw: Uint8Array, elemType: number, out: ArrayLike<number> & { [i: number]: number }): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = out.length;
  switch (elemType) {
    case DataType.FLOAT: for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true); break;
    case DataType.DOUBLE: for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case DataType.INT64: for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case DataType.UINT32: for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true); break;
    case DataType.INT32: for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true); break;
    case DataType.INT16: for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true); break;
    case DataType.UINT16: for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true); break;
    case DataType.INT8: for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case DataType.UINT8: case DataType.BOOL: for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
    case DataType.FLOAT16: for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
  }
}

/**
 * The bytes of an external tensor, confined to the model's folder: an absolute location, one that
 * climbs out with `..`, a symlink leading outside, anything but a regular file, or a range past
 * the file's end is refused (MPCC1011, MPCC1005 when missing). Messages name the tensor, the
 * model and the location as written, and never a size or content of the file.
 */
function readExternal(t: proto.ITensorProto, baseDir: string, label: string, expected: number): Uint8Array {
  const name = t.name ?? '';
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  const refuse = (why: string) => diag('MPCC1011', [name, label, why]);
  if (!location) throw refuse('it has no location');
  if (isAbsolute(location) || /^[a-zA-Z]:/.test(location) || location.startsWith('\\')) throw refuse(`location '${location}' is an absolute path`);
  if (location.includes('\0')) throw refuse(`location '${location}' holds a NUL character`);
  const file = resolve(baseDir, location);
  const rel = relative(baseDir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) throw refuse(`location '${location}' leads outside the model's folder`);
  const offset = byteCount(entries.get('offset') ?? '0');
  if (offset === undefined) throw refuse(`offset '${entries.get('offset')}' is not a byte count`);
  const lengthText = entries.get('length');
  const given = lengthText === undefined ? undefined : byteCount(lengthText);
  if (lengthText !== undefined && given === undefined) throw refuse(`length '${lengthText}' is not a byte count`);
  let fd: number;
  try {
    // the real path, symlinks followed, must stay in the real model folder too
    const real = realpathSync(file);
    const realRel = relative(realpathSync(baseDir), real);
    if (realRel.startsWith('..') || isAbsolute(realRel)) throw refuse(`location '${location}' leads outside the model's folder`);
    fd = openSync(real, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // a dangling symlink says no more than one leading outside: whether its target exists is none of the model's business
      if (isSymlink(file)) throw refuse(`location '${location}' leads outside the model's folder`);
      throw diag('MPCC1005', [location, name, label]);
    }
    if (err instanceof Error && err.name === 'MpccError') throw err;
    throw refuse(`location '${location}' cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw refuse(`location '${location}' is not a regular file`);
    const length = given ?? stat.size - offset;
    if (length < 0 || offset + length > stat.size) throw refuse(`offset ${offset} and length ${given ?? '(to the end)'} lie beyond the end of '${location}'`);
    if (length !== expected) throw refuse(`it has ${length} data bytes, its shape needs ${expected}`);
    const buf = new Uint8Array(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** True when `path` itself is a symbolic link. */
function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A non-negative integer of at most 2^53 written in decimal, else undefined. */
function byteCount(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text.trim())) return undefined;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** IEEE half-precision bits to a number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
