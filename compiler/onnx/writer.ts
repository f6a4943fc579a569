// A small typed builder of ONNX ModelProto bytes. The model zoo and tests build their networks
// through it, so that only this file (and the importer) depends on onnx-proto. Tensors are
// written as little-endian raw_data whatever the host's byte order, as the ONNX spec requires.
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;
const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

/** Element types the builder can write. */
export type ElemType = 'float32' | 'int64' | 'float64' | 'int32' | 'bool';

/** A constant tensor: float32 data, int64 data (bigint or safe-integer numbers), or numbers of
 * the other element types (float64, int32, bool as 0/1), with its shape. */
export interface TensorValue {
  readonly dtype: ElemType;
  readonly shape: readonly number[];
  readonly data: Float32Array | readonly number[] | BigInt64Array | ArrayLike<number>;
}

/** An attribute value with its ONNX attribute type made explicit. */
export type TypedAttr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorValue };

/**
 * An attribute as given to `node`: a plain integer is an INT, an array of integers INTS, a
 * string STRING; floats must be wrapped (`float(1)`), since 1 and 1.0 are the same JS number.
 */
export type AttrValue = TypedAttr | number | readonly number[] | string;

/** A FLOAT attribute (needed when the value is integral, e.g. Gemm alpha = 1). */
export function float(value: number): TypedAttr {
  return { kind: 'float', value };
}

/** A FLOATS attribute. */
export function floats(value: readonly number[]): TypedAttr {
  return { kind: 'floats', value };
}

/** A TENSOR attribute (Constant's `value`, ConstantOfShape's `value`). */
export function tensorAttr(value: TensorValue): TypedAttr {
  return { kind: 'tensor', value };
}

/** A float32 tensor value. */
export function f32Tensor(data: Float32Array | readonly number[], shape: readonly number[]): TensorValue {
  return { dtype: 'float32', shape, data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

/** An int64 tensor value. */
export function i64Tensor(data: readonly number[] | BigInt64Array, shape: readonly number[]): TensorValue {
  return { dtype: 'int64', shape, data };
}

/** Options of a model under construction. */
export interface OnnxBuilderOptions {
  /** Default-domain opset version (ONNX operator set), e.g. 13. */
  readonly opset: number;
  /** Graph name written into the model. */
  readonly graphName?: string;
  /** producer_name of the model. */
  readonly producer?: string;
  /** doc_string of the model. */
  readonly doc?: string;
}

/** The ONNX IR version matching a default-domain opset (as the ONNX release tables pair them). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 9) return 4;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** How `serialize` writes the initializers. */
export interface SerializeOptions {
  /** raw_data (default, what torch.onnx writes) or the typed repeated fields. */
  readonly tensorEncoding?: 'raw' | 'typed';
  /** Move initializers of at least `minBytes` (default 1024) into an external data file. */
  readonly externalData?: { readonly location: string; readonly minBytes?: number };
}

/** Builds one ONNX model: inputs, initializers, nodes and outputs, then `toBytes()`. */
export class OnnxBuilder {
  readonly opset: number;
  private readonly options: OnnxBuilderOptions;
  private readonly inputs: proto.IValueInfoProto[] = [];
  private readonly outputs: proto.IValueInfoProto[] = [];
  private readonly initializers: { readonly name: string; readonly value: TensorValue }[] = [];
  private readonly nodes: proto.INodeProto[] = [];
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly reserved = new Set<string>();

  constructor(options: OnnxBuilderOptions) {
    this.options = options;
    this.opset = options.opset;
  }

  /** Declares a graph input (float32 unless told); `shape` entries may be strings for symbolic dims. */
  input(name: string, shape: readonly (number | string)[], dtype: ElemType = 'float32'): string {
    this.define(name);
    this.inputs.push(valueInfo(name, shape, dtype));
    return name;
  }

  /** Declares a graph output; its shape may be left out (ONNX runtimes infer it). */
  output(name: string, shape?: readonly (number | string)[], dtype: ElemType = 'float32'): string {
    this.outputs.push(valueInfo(name, shape, dtype));
    return name;
  }

  /** Adds a float32 initializer written as little-endian raw_data. */
  initializer(name: string, data: Float32Array | readonly number[], shape: readonly number[]): string {
    return this.tensorInitializer(name, f32Tensor(data, shape));
  }

  /** Adds an int64 initializer (Reshape shapes, Slice bounds, Unsqueeze axes...). */
  int64Initializer(name: string, data: readonly number[] | BigInt64Array, shape: readonly number[] = [data.length]): string {
    return this.tensorInitializer(name, i64Tensor(data, shape));
  }

  /** Adds an initializer from a tensor value. */
  tensorInitializer(name: string, value: TensorValue): string {
    this.define(name);
    checkCount(name, value);
    this.initializers.push({ name, value });
    return name;
  }

  /**
   * Adds a node. Empty strings in `inputs` mark omitted optional inputs. Returns the outputs'
   * names. The node's name defaults to a fresh `<OpType>_<n>`.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, name?: string): string[] {
    const nodeName = name ?? this.freshNodeName(opType);
    if (this.nodeNames.has(nodeName)) throw new Error(`OnnxBuilder: duplicate node name '${nodeName}'`);
    this.nodeNames.add(nodeName);
    for (const out of outputs) if (out !== '') this.define(out);
    this.nodes.push({
      opType,
      name: nodeName,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.keys(attrs).sort().map((key) => attributeProto(key, attrs[key])),
    });
    return [...outputs];
  }

  /** Renames a node output (and its uses), e.g. to give the last node's result the graph output's name. */
  renameValue(from: string, to: string): void {
    const producer = this.nodes.find((n) => n.output?.includes(from));
    if (!producer) throw new Error(`OnnxBuilder: '${from}' is not a node output`);
    this.define(to);
    this.names.delete(from);
    for (const node of this.nodes) {
      node.input = node.input?.map((v) => (v === from ? to : v));
      node.output = node.output?.map((v) => (v === from ? to : v));
    }
  }

  /** The op types of the nodes added so far, in order (with repeats). */
  opTypes(): string[] {
    return this.nodes.map((n) => n.opType ?? '');
  }

  /** A value name not yet used in the graph, `<prefix>` or `<prefix>_<n>`. */
  fresh(prefix: string): string {
    let n = this.counters.get(prefix) ?? 0;
    let name = n === 0 ? prefix : `${prefix}_${n}`;
    while (this.names.has(name) || this.reserved.has(name)) name = `${prefix}_${++n}`;
    this.counters.set(prefix, n + 1);
    return name;
  }

  /** The ModelProto as an object (for tests that want to inspect it); initializers inline as raw_data. */
  toModel(): proto.ModelProto {
    return this.buildModel({}).model;
  }

  /** The serialized model, initializers inline as little-endian raw_data. */
  toBytes(): Uint8Array {
    return this.serialize().model;
  }

  /**
   * The serialized model with initializers in the chosen encoding: raw_data (default) or the
   * typed fields (float_data, int64_data); or, for tensors of at least `minBytes`, in an external
   * data file (returned as `externalData`, to be written at `location` next to the model).
   */
  serialize(options: SerializeOptions = {}): { model: Uint8Array; externalData?: Uint8Array } {
    const { model, externalData } = this.buildModel(options);
    return { model: onnx.ModelProto.encode(model).finish(), externalData };
  }

  private buildModel(options: SerializeOptions): { model: proto.ModelProto; externalData?: Uint8Array } {
    const external: Uint8Array[] = [];
    let offset = 0;
    const initializer = this.initializers.map(({ name, value }) => {
      const ext = options.externalData;
      if (ext && byteLength(value) >= (ext.minBytes ?? 1024)) {
        const bytes = rawBytes(value);
        external.push(bytes);
        const entry: proto.ITensorProto = {
          name,
          dims: [...value.shape],
          dataType: dataType(value.dtype),
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: ext.location },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: String(bytes.length) },
          ],
        };
        offset += bytes.length;
        return entry;
      }
      return options.tensorEncoding === 'typed' ? typedTensorProto(name, value) : tensorProto(name, value);
    });
    const model = onnx.ModelProto.fromObject({
      irVersion: irVersionForOpset(this.opset),
      producerName: this.options.producer ?? 'mpcc-zoo',
      producerVersion: '1',
      docString: this.options.doc ?? '',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.options.graphName ?? 'graph',
        node: this.nodes,
        initializer,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return { model, externalData: options.externalData ? concatBytes(external, offset) : undefined };
  }

  /** Marks names as taken, so `fresh` and generated node names avoid them (names defined later). */
  reserve(names: Iterable<string>): void {
    for (const name of names) this.reserved.add(name);
  }

  private define(name: string): void {
    if (this.names.has(name)) throw new Error(`OnnxBuilder: value '${name}' is defined twice`);
    this.names.add(name);
  }

  private freshNodeName(opType: string): string {
    let n = this.counters.get(`#${opType}`) ?? 0;
    let name = `${opType}_${n}`;
    while (this.nodeNames.has(name) || this.reserved.has(name)) name = `${opType}_${++n}`;
    this.counters.set(`#${opType}`, n + 1);
    return name;
  }
}

function valueInfo(name: string, shape: readonly (number | string)[] | undefined, dtype: ElemType): proto.IValueInfoProto {
  const tensorType: proto.TypeProto.ITensor = { elemType: dataType(dtype) };
  if (shape) tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

const DATA_TYPES: Readonly<Record<ElemType, number>> = {
  float32: DataType.FLOAT, int64: DataType.INT64, float64: DataType.DOUBLE, int32: DataType.INT32, bool: DataType.BOOL,
};

/** Bytes per element of each element type in raw_data. */
const ELEM_BYTES: Readonly<Record<ElemType, number>> = { float32: 4, int64: 8, float64: 8, int32: 4, bool: 1 };

/** The ONNX TensorProto data type number of an element type (Cast's `to`). */
export function dataType(dtype: ElemType): number {
  return DATA_TYPES[dtype];
}

function checkCount(name: string, value: TensorValue): void {
  const count = value.shape.reduce((a, b) => a * b, 1);
  if (value.data.length !== count) {
    throw new Error(`OnnxBuilder: tensor '${name}' has ${value.data.length} elements but shape [${value.shape.join(',')}]`);
  }
}

function tensorProto(name: string, value: TensorValue): proto.ITensorProto {
  checkCount(name, value);
  return { name, dims: [...value.shape], dataType: dataType(value.dtype), rawData: rawBytes(value) };
}

/** A tensor with its data in float_data / int64_data instead of raw_data (older exporters). */
function typedTensorProto(name: string, value: TensorValue): proto.ITensorProto {
  const base = { name, dims: [...value.shape], dataType: dataType(value.dtype) };
  if (value.dtype === 'float32') return { ...base, floatData: Array.from(value.data as Float32Array) };
  if (value.dtype === 'float64') return { ...base, doubleData: Array.from(value.data as ArrayLike<number>) };
  if (value.dtype === 'int32' || value.dtype === 'bool') return { ...base, int32Data: Array.from(value.data as ArrayLike<number>) };
  // decimal strings keep int64 values beyond 2^53 exact through protobufjs' Long conversion
  return { ...base, int64Data: Array.from(value.data as ArrayLike<number | bigint>, (v) => String(v)) as unknown as number[] };
}

function byteLength(value: TensorValue): number {
  return value.data.length * ELEM_BYTES[value.dtype];
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian bytes of a tensor's data. */
function rawBytes(value: TensorValue): Uint8Array {
  if (value.dtype === 'float32') {
    const data = value.data as Float32Array;
    if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    const bytes = new Uint8Array(value.data.length * 4);
    const view = new DataView(bytes.buffer);
    (value.data as Float32Array).forEach((v, i) => view.setFloat32(i * 4, v, true));
    return bytes;
  }
  const bytes = new Uint8Array(value.data.length * ELEM_BYTES[value.dtype]);
  const view = new DataView(bytes.buffer);
  const numbers = value.data as ArrayLike<number>;
  if (value.dtype === 'float64') for (let i = 0; i < numbers.length; i++) view.setFloat64(i * 8, numbers[i], true);
  if (value.dtype === 'int32') for (let i = 0; i < numbers.length; i++) view.setInt32(i * 4, numbers[i], true);
  if (value.dtype === 'bool') for (let i = 0; i < numbers.length; i++) view.setUint8(i, numbers[i] ? 1 : 0);
  if (value.dtype !== 'int64') return bytes;
  for (let i = 0; i < value.data.length; i++) {
    const v = value.data[i];
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`OnnxBuilder: int64 value ${v} is not an integer`);
    view.setBigInt64(i * 8, BigInt(v), true);
  }
  return bytes;
}

function typed(value: AttrValue): TypedAttr {
  if (typeof value === 'number') return Number.isInteger(value) ? { kind: 'int', value } : { kind: 'float', value };
  if (typeof value === 'string') return { kind: 'string', value };
  if (Array.isArray(value)) {
    const list = value as readonly number[];
    return list.every((v) => Number.isInteger(v)) ? { kind: 'ints', value: list } : { kind: 'floats', value: list };
  }
  return value as TypedAttr;
}

function attributeProto(name: string, raw: AttrValue): proto.IAttributeProto {
  const attr = typed(raw);
  switch (attr.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: attr.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: attr.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...attr.value] };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...attr.value] };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(attr.value) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorProto('', attr.value) };
  }
}
