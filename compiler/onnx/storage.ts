// Re-encodes the initializers of an ONNX model in the other storage forms ONNX allows: typed
// fields (float_data, int64_data…, as old exporters write them) or an external data file (as
// `onnx.save_model(..., save_as_external_data=True)` writes large models). Used to produce
// test fixtures and to split large models; only ONNX files touch onnx-proto.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** Moves every raw_data initializer into its typed field (float_data, int64_data, int32_data, double_data). */
export function initializersToTypedFields(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const t of model.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.length === 0) continue;
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    switch (t.dataType) {
      case DataType.FLOAT: t.floatData = Array.from({ length: view.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true)); break;
      case DataType.DOUBLE: t.doubleData = Array.from({ length: view.byteLength / 8 }, (_, i) => view.getFloat64(8 * i, true)); break;
      case DataType.INT32: t.int32Data = Array.from({ length: view.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true)); break;
      case DataType.INT64: t.int64Data = Array.from({ length: view.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true))); break;
      default: continue;
    }
    delete (t as { rawData?: Uint8Array }).rawData; // an empty raw_data field would still be written
  }
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Moves the raw data of initializers of at least `minBytes` bytes into one external file named
 * `location` (relative to the model), 16-byte aligned as onnx does. Returns both files' bytes.
 */
export function initializersToExternalData(bytes: Uint8Array, location: string, minBytes = 0): { model: Uint8Array; data: Uint8Array } {
  const model = onnx.ModelProto.decode(bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.length < Math.max(1, minBytes)) continue;
    const pad = (16 - (offset % 16)) % 16;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(t.rawData);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(t.rawData.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    offset += t.rawData.length;
    delete (t as { rawData?: Uint8Array }).rawData; // an empty raw_data field would still be written
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { data.set(c, at); at += c.length; }
  return { model: onnx.ModelProto.encode(model).finish(), data };
}

/** The decoded ModelProto a test fixture may edit in place (see `editModel`). */
export type EditableModel = InstanceType<typeof onnx.ModelProto>;

/**
 * Decodes `bytes`, lets `edit` change the ModelProto in place (a fixture: a corrupted dim, an
 * external location, a renamed input…) and encodes it again. Only ONNX files touch onnx-proto.
 */
export function editModel(bytes: Uint8Array, edit: (model: EditableModel) => void): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  edit(model);
  return onnx.ModelProto.encode(model).finish();
}
