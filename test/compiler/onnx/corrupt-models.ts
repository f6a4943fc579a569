// The corrupted-model corpus: small zoo models serialized and broken in the ways a hostile or
// damaged file can be (bad dims, short data, NaN weights, negative variance, external data naming
// a directory, undefined or missing inputs, cycles, duplicate names, wrong attribute types,
// truncated bytes, byte flips). Deterministic: the same cases, byte for byte, on every run.
import { buildZooModel } from '../../../examples/zoo/index.js';
import { type EditableModel, editModel } from '../../../compiler/onnx/storage.js';

/** One corrupted model: its name (what was broken) and bytes. */
export interface CorruptModel {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The zoo models the corpus starts from (small, and every importer kind between them). */
export const CORPUS_BASES = ['tiny-cnn', 'secure-ops', 'legacy-ops', 'all-ops'] as const;

/** A seeded xorshift32: deterministic choices for the byte flips (test data, not protocol code). */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const FLOAT = 1, STRING = 8;
type Initializer = NonNullable<NonNullable<EditableModel['graph']>['initializer']>[number];
type OnnxNodeProto = NonNullable<NonNullable<EditableModel['graph']>['node']>[number];

/** raw_data of `n` float32 values all equal to `v`. */
function floats(n: number, v: number): Uint8Array {
  const a = new Float32Array(n).fill(v);
  return new Uint8Array(a.buffer);
}

/** Every case built from `base`. */
function casesOf(base: string): CorruptModel[] {
  const bytes = buildZooModel(base);
  const out: CorruptModel[] = [];
  const edit = (what: string, fn: (m: EditableModel) => void) => out.push({ name: `${base}: ${what}`, bytes: editModel(bytes, fn) });
  const inits = (m: EditableModel): Initializer[] => m.graph!.initializer ?? [];
  const nodes = (m: EditableModel): OnnxNodeProto[] => m.graph!.node ?? [];
  let initCount = 0, nodeCount = 0;
  const names: string[] = [];
  editModel(bytes, (m) => {
    initCount = inits(m).length;
    nodeCount = nodes(m).length;
    nodes(m).forEach((n) => names.push(n.opType ?? ''));
  });

  // initializers: dims, data, types
  for (let k = 0; k < Math.min(initCount, 6); k++) {
    edit(`initializer ${k} negative dim`, (m) => { inits(m)[k].dims = [-3, ...(inits(m)[k].dims ?? []).slice(1)]; });
    edit(`initializer ${k} huge dims`, (m) => { inits(m)[k].dims = [2 ** 31, 2 ** 31, 2 ** 20]; });
    edit(`initializer ${k} dims past 2^53`, (m) => { inits(m)[k].dims = [2 ** 60]; });
    edit(`initializer ${k} data shorter than dims`, (m) => { const d = inits(m)[k].dims ?? []; inits(m)[k].dims = [Number(d[0] ?? 1) * 2, ...d.slice(1)]; });
    edit(`initializer ${k} NaN weights`, (m) => { const t = inits(m)[k]; if (t.dataType === FLOAT && t.rawData) t.rawData = floats(t.rawData.length / 4, NaN); });
    edit(`initializer ${k} Inf weights`, (m) => { const t = inits(m)[k]; if (t.dataType === FLOAT && t.rawData) t.rawData = floats(t.rawData.length / 4, -Infinity); });
    edit(`initializer ${k} 1e30 weights`, (m) => { const t = inits(m)[k]; if (t.dataType === FLOAT && t.rawData) t.rawData = floats(t.rawData.length / 4, 1e30); });
    edit(`initializer ${k} unknown data type`, (m) => { inits(m)[k].dataType = 999; });
    edit(`initializer ${k} string data type`, (m) => { inits(m)[k].dataType = STRING; });
    edit(`initializer ${k} external data naming a directory`, (m) => {
      const t = inits(m)[k];
      t.externalData = [{ key: 'location', value: '.' }];
      t.dataLocation = 1;
      t.rawData = new Uint8Array();
    });
    edit(`initializer ${k} external data with no location`, (m) => { const t = inits(m)[k]; t.externalData = []; t.dataLocation = 1; });
    edit(`initializer ${k} duplicate of initializer 0's name`, (m) => { if (k > 0) inits(m)[k].name = inits(m)[0].name; else inits(m)[k].name = ''; });
  }
  // batch-norm variance below zero, and zero with epsilon 0
  for (let k = 0; k < nodeCount; k++) {
    if (names[k] !== 'BatchNormalization') continue;
    edit(`node ${k} batch-norm negative variance`, (m) => {
      const v = inits(m).find((t) => t.name === nodes(m)[k].input![4]);
      if (v?.rawData) v.rawData = floats(v.rawData.length / 4, -4);
    });
    edit(`node ${k} batch-norm zero variance, epsilon 0`, (m) => {
      const v = inits(m).find((t) => t.name === nodes(m)[k].input![4]);
      if (v?.rawData) v.rawData = floats(v.rawData.length / 4, 0);
      for (const a of nodes(m)[k].attribute ?? []) if (a.name === 'epsilon') a.f = 0;
    });
  }
  // nodes: inputs, outputs, names, attributes
  for (let k = 0; k < Math.min(nodeCount, 14); k++) {
    edit(`node ${k} (${names[k]}) input undefined`, (m) => { const n = nodes(m)[k]; if (n.input?.length) n.input[0] = 'nowhere'; });
    edit(`node ${k} (${names[k]}) every input missing`, (m) => { nodes(m)[k].input = []; });
    edit(`node ${k} (${names[k]}) last input empty`, (m) => { const n = nodes(m)[k]; if (n.input?.length) n.input[n.input.length - 1] = ''; });
    edit(`node ${k} (${names[k]}) reads its own output (cycle)`, (m) => { const n = nodes(m)[k]; if (n.input?.length && n.output?.length) n.input[0] = n.output[0]; });
    edit(`node ${k} (${names[k]}) reads a later node (cycle)`, (m) => { const n = nodes(m)[k], later = nodes(m)[nodeCount - 1]; if (n.input?.length && later.output?.length) n.input[0] = later.output[0]; });
    edit(`node ${k} (${names[k]}) output named like the graph input`, (m) => { const n = nodes(m)[k]; if (n.output?.length) n.output[0] = m.graph!.input![0].name!; });
    edit(`node ${k} (${names[k]}) output duplicates node 0's`, (m) => { const n = nodes(m)[k]; if (k > 0 && n.output?.length) n.output[0] = nodes(m)[0].output![0]; });
    edit(`node ${k} (${names[k]}) no outputs`, (m) => { nodes(m)[k].output = []; });
    edit(`node ${k} (${names[k]}) extra inputs`, (m) => { const n = nodes(m)[k]; n.input = [...(n.input ?? []), ...(n.input ?? []), 'nowhere']; });
    edit(`node ${k} (${names[k]}) duplicate node name`, (m) => { nodes(m)[k].name = nodes(m)[0].name; });
    // attributes: wrong types and hostile values
    edit(`node ${k} (${names[k]}) ints attributes as a float`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 7) { a.type = 1; a.f = 2.5; a.ints = []; } });
    edit(`node ${k} (${names[k]}) int attributes as a string`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 2) { a.type = 3; a.s = new TextEncoder().encode('many'); } });
    edit(`node ${k} (${names[k]}) ints attributes negative`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 7) a.ints = (a.ints ?? []).map(() => -2); });
    edit(`node ${k} (${names[k]}) ints attributes zero`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 7) a.ints = (a.ints ?? []).map(() => 0); });
    edit(`node ${k} (${names[k]}) ints attributes huge`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 7) a.ints = (a.ints ?? []).map(() => 2 ** 40); });
    edit(`node ${k} (${names[k]}) ints attributes too many`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 7) a.ints = [...(a.ints ?? []), 1, 1, 1]; });
    edit(`node ${k} (${names[k]}) int attributes huge`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 2) a.i = 2 ** 45; });
    edit(`node ${k} (${names[k]}) float attributes NaN`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 1) a.f = NaN; });
    edit(`node ${k} (${names[k]}) tensor attribute emptied`, (m) => { for (const a of nodes(m)[k].attribute ?? []) if (a.type === 4 && a.t) { a.t.dims = [5, 7]; a.t.rawData = new Uint8Array(3); } });
  }
  // graph level
  edit('graph input with negative dim', (m) => { const d = m.graph!.input![0].type!.tensorType!.shape!.dim!; d[0].dimValue = -1; });
  edit('graph input with zero dims', (m) => { for (const d of m.graph!.input![0].type!.tensorType!.shape!.dim!) d.dimValue = 0; });
  edit('graph input with huge dims', (m) => { for (const d of m.graph!.input![0].type!.tensorType!.shape!.dim!) d.dimValue = 2 ** 30; });
  edit('graph input of rank 7', (m) => { const s = m.graph!.input![0].type!.tensorType!.shape!; s.dim = [...s.dim!, { dimValue: 1 }, { dimValue: 1 }, { dimValue: 1 }]; });
  edit('graph input of type string', (m) => { m.graph!.input![0].type!.tensorType!.elemType = STRING; });
  edit('graph output undefined', (m) => { m.graph!.output![0].name = 'nowhere'; });
  edit('graph output is the input', (m) => { m.graph!.output![0].name = m.graph!.input![0].name; });
  edit('no graph inputs', (m) => { m.graph!.input = []; });
  edit('nodes reversed', (m) => { m.graph!.node = [...nodes(m)].reverse(); });
  edit('opset 0', (m) => { for (const o of m.opsetImport ?? []) o.version = 0; });
  edit('opset 10000', (m) => { for (const o of m.opsetImport ?? []) o.version = 10000; });
  edit('ir version 0', (m) => { m.irVersion = 0; });
  // truncated bytes, then byte flips
  for (let k = 1; k < 30; k++) {
    const at = Math.floor((bytes.length * k) / 30);
    out.push({ name: `${base}: truncated at byte ${at}`, bytes: bytes.slice(0, at) });
  }
  for (let seed = 1; seed <= 40; seed++) {
    const next = xorshift(seed * 7919 + base.length);
    const b = bytes.slice();
    const flips = 1 + (next() % 4);
    for (let f = 0; f < flips; f++) b[next() % b.length] ^= 1 << (next() % 8);
    out.push({ name: `${base}: ${flips} bytes flipped (seed ${seed})`, bytes: b });
  }
  return out;
}

/** The whole corpus, in a fixed order. */
export function corruptCorpus(): CorruptModel[] {
  return CORPUS_BASES.flatMap((b) => casesOf(b));
}
