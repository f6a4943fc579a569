// Parsing and validating a party's program.json before anything runs: the program is data
// (a step table the executor interprets), never code, and a program handed to a party is
// untrusted until this check passes. Every field is type-checked, every step kind must be one
// of the step library's, every value a step reads must be produced by an earlier step (and
// every value produced once), sizes must agree (the input step's size with the input shape)
// and stay under fixed limits, and counts are bounded; the layout steps' parameters follow a
// closed per-field schema each (validate-layout.ts); a masked activation a product keeps for P1
// (keepMasked) is read only by 'weightsSharedMask' steps naming that product; a client-offline
// product sharing a mask (maskFrom) names an earlier one of the same operand. A program in a ring
// smaller than Z_2^64 (`ring`, RING_BITS) is client-offline, names the same ring on every setup
// step and on every step whose messages carry ring elements (RING_PARAM_KINDS), runs only steps
// that are ring homomorphisms or exact (checkRingSteps), and its helper's windows lie inside the
// ring. A refusal is MPCC5222 naming the file and the field (`steps[3].params.size`).

import { runtimeError } from '../diagnostics.js';
import type { PartyId } from '../session/session.js';
import { conv2dOutShape } from '../ring/windows.js';
import { MAX_EXACT_TRUNCATION_BITS } from '../protocols/truncate-exact.js';
import { AVG_SHIFT } from '../protocols/linear.js';
import { COPY_RINGS, MAX_COPY_LIFT_BITS } from '../protocols/copy-ring.js';
import { NARROW_CARRYING_KINDS, PRODUCT_KINDS, RING_BITS, RING_PARAM_KINDS, SELECTION_RING_BITS, isClientOffline, productValue, PROGRAM_FORMAT, type MapSpec, type Program, type ProgramStep } from './program.js';
import { STEP_KINDS } from './steps.js';
import { type LayoutSizes, LAYOUT_SCHEMAS, type ParamsCheck } from './validate-layout.js';
import { array, describe, fail, int, ints, type Json, name, object, PROGRAM_LIMITS, Refusal, shape } from './validate-json.js';

export { PROGRAM_LIMITS } from './validate-json.js';

/** Plain JSON parameters: bounded depth and entries; numbers finite; integers within the
 * element limit (a size, an index, a count); strings are names. */
function plainParams(v: Json, field: string, depth = 0, budget = { left: PROGRAM_LIMITS.entries }): void {
  if (--budget.left < 0) fail(field, `more than ${PROGRAM_LIMITS.entries} parameter entries`);
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(field, 'not a finite number');
    if (Number.isInteger(v) && Math.abs(v) > PROGRAM_LIMITS.elements) fail(field, `${v} is beyond the size limit ${PROGRAM_LIMITS.elements}`);
    return;
  }
  if (typeof v === 'string') {
    if (v.length > PROGRAM_LIMITS.name) fail(field, `a string of ${v.length} characters (at most ${PROGRAM_LIMITS.name})`);
    return;
  }
  if (depth >= PROGRAM_LIMITS.depth) fail(field, `nested deeper than ${PROGRAM_LIMITS.depth}`);
  if (Array.isArray(v)) return v.forEach((x, i) => plainParams(x, `${field}[${i}]`, depth + 1, budget));
  if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v as object)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') fail(`${field}.${k}`, 'a reserved key');
      plainParams(x, `${field}.${k}`, depth + 1, budget);
    }
    return;
  }
  fail(field, `unexpected ${typeof v}`);
}

/** What a kind's parameters must hold beyond plain JSON. */
type ParamType = 'int' | 'number' | 'name' | 'bool' | 'window' | 'shape' | 'shapes' | 'pool' | 'object' | 'array';
interface KindSchema {
  /** Operands [min, max] and results. */
  inputs: [number, number];
  outputs: number;
  required?: Record<string, ParamType>;
  optional?: Record<string, ParamType>;
  /** A closed per-field schema of the parameters (the layout kinds, validate-layout.ts). */
  check?: ParamsCheck;
}

const WINDOW: Record<string, ParamType> = { window: 'window' };
const BIAS: Record<string, ParamType> = { bias: 'name', inner: 'int' };
const BROADCAST: Record<string, ParamType> = { shapes: 'shapes', outShape: 'shape' };
const one = (required: Record<string, ParamType> = {}, optional: Record<string, ParamType> = {}): KindSchema => ({ inputs: [1, 1], outputs: 1, required, optional });

/** A 'mul' step's shapes: x's and y's must broadcast (numpy rules) to exactly outShape; the
 * operands' sizes are theirs, the result's outShape's. */
const checkProduct: ParamsCheck = (params, field) => {
  const [x, y, out] = [params.xShape, params.yShape, params.outShape] as number[][];
  if (x.length > out.length || y.length > out.length) fail(`${field}.outShape`, `rank ${out.length} below an operand's`);
  out.forEach((d, i) => {
    for (const [name, s] of [['xShape', x], ['yShape', y]] as const) {
      const e = s[i - (out.length - s.length)];
      if (e !== undefined && e !== d && e !== 1) fail(`${field}.${name}`, `[${s.join(',')}] does not broadcast to [${out.join(',')}]`);
    }
    const ex = x[i - (out.length - x.length)] ?? 1, ey = y[i - (out.length - y.length)] ?? 1;
    if (d !== Math.max(ex, ey) && !(d === 0 && Math.min(ex, ey) === 0)) fail(`${field}.outShape`, `[${out.join(',')}] is not the broadcast of [${x.join(',')}] and [${y.join(',')}]`);
  });
  const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  return { inputs: [{ size: size(x), field: 'xShape' }, { size: size(y), field: 'yShape' }], output: size(out) };
};

/** A 'helperSelect' step (the client-offline mode's truncation, residual and (block-)ReLU):
 * `bits` within the three-way truncation's range, its operands (v and the optional residual)
 * of `size` elements; with `blocks`, a `shape` of `size` elements and one block per channel
 * ('identity' or [height, width] within the plane), as a 'blockRelu' step's. */
const checkHelperSelect: ParamsCheck = (params, field, operands) => {
  int(params.bits, `${field}.bits`, 0, MAX_EXACT_TRUNCATION_BITS);
  const size = params.size as number;
  if (params.blocks !== undefined && params.shape === undefined) fail(`${field}.shape`, "missing (a 'helperSelect' step with blocks needs it)");
  if (params.shape !== undefined) {
    const dims = ints(params.shape, `${field}.shape`, 4, 1);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== size) fail(`${field}.shape`, `[${dims.join(',')}] has ${n} elements, the step's size is ${size}`);
    if (params.blocks !== undefined) {
      const blocks = array(params.blocks, `${field}.blocks`, dims[1]);
      if (blocks.length !== dims[1]) fail(`${field}.blocks`, `${blocks.length} block sizes for ${dims[1]} channels`);
      blocks.forEach((b, i) => b === 'identity' || ints(b, `${field}.blocks[${i}]`, 2, 1, Math.max(dims[2], dims[3])));
    }
  }
  return { inputs: Array.from({ length: operands }, () => ({ size, field: 'size' })), output: size };
};

const KIND_SCHEMAS: Record<keyof typeof STEP_KINDS, KindSchema> = {
  input: { inputs: [0, 0], outputs: 1, required: { size: 'int' } },
  reveal: { inputs: [1, 1], outputs: 0, required: { value: 'name' }, optional: { frac: 'int' } },
  weights: one({ layer: 'name' }, { ...BIAS, keepMasked: 'bool' }),
  weightsSharedMask: one({ layer: 'name', maskFrom: 'name' }, BIAS),
  reluWeights: { inputs: [1, 1], outputs: 2, required: { layer: 'name', ...WINDOW }, optional: { ...BIAS, blocks: 'array', shape: 'shape', keepMasked: 'bool' } },
  relu: one(WINDOW, { size: 'int' }),
  blockRelu: one({ shape: 'shape', blocks: 'array', ...WINDOW }),
  clip: one({ min: 'number', max: 'number', ...WINDOW }),
  maxPool: one({ pool: 'pool', ...WINDOW }),
  avgPool: one({ pool: 'pool' }, { countIncludePad: 'bool', untruncated: 'bool', divideBits: 'int' }),
  truncate: one({ bits: 'int' }, BIAS),
  truncateExact: one({ bits: 'int' }, BIAS),
  truncateExactOnline: one({ bits: 'int' }, BIAS),
  add: { inputs: [2, 2], outputs: 1, optional: BROADCAST },
  sub: { inputs: [2, 2], outputs: 1, optional: BROADCAST },
  addConst: one({ constant: 'name' }, { ...BROADCAST, negate: 'bool' }),
  identity: one(),
  transpose: { ...one(), check: LAYOUT_SCHEMAS.transpose },
  slice: { ...one(), check: LAYOUT_SCHEMAS.slice },
  concat: { inputs: [1, PROGRAM_LIMITS.operands], outputs: 1, check: LAYOUT_SCHEMAS.concat },
  pad: { ...one(), check: LAYOUT_SCHEMAS.pad },
  broadcast: { ...one(), check: LAYOUT_SCHEMAS.broadcast },
  resize: { ...one(), check: LAYOUT_SCHEMAS.resize },
  globalAvgPool: one({ inShape: 'shape' }, { untruncated: 'bool', divideBits: 'int' }),
  mul: { inputs: [2, 2], outputs: 1, required: { xShape: 'shape', yShape: 'shape', outShape: 'shape' }, check: checkProduct },
  hardSigmoid: one({ alpha: 'number', beta: 'number' }),
  sigmoid: one(),
  weightsClientOffline: one({ layer: 'name' }, { ...BIAS, maskFrom: 'name' }),
  helperSelect: { inputs: [1, 2], outputs: 1, required: { bits: 'int', size: 'int', ...WINDOW }, optional: { shape: 'shape', blocks: 'array', copyRing: 'int' }, check: checkHelperSelect },
  truncateClientOffline: one({ bits: 'int' }, { lift: 'bool' }),
};

/** Kinds whose result has as many elements as their (first) operand. */
const SIZE_KEEPING: ReadonlySet<string> = new Set(['truncateClientOffline', 'relu', 'blockRelu', 'clip', 'truncate', 'truncateExact', 'truncateExactOnline', 'add', 'sub', 'addConst', 'identity', 'hardSigmoid', 'sigmoid']);

function typed(v: Json, t: ParamType, field: string): void {
  switch (t) {
    case 'int':
      int(v, field, 0, PROGRAM_LIMITS.elements);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `expected a finite number, got ${describe(v)}`);
      return;
    case 'name':
      name(v, field);
      return;
    case 'bool':
      if (typeof v !== 'boolean') fail(field, `expected true or false, got ${describe(v)}`);
      return;
    case 'window': {
      const w = object(v, field);
      const lo = int(w.lo, `${field}.lo`, 0, 63);
      int(w.k, `${field}.k`, 1, 64 - lo);
      return;
    }
    case 'shape':
      shape(v, field);
      return;
    case 'shapes':
      array(v, field, PROGRAM_LIMITS.operands).forEach((s, i) => shape(s, `${field}[${i}]`));
      return;
    case 'pool':
      windowGeometry(v, field, false);
      return;
    case 'object':
      object(v, field);
      return;
    case 'array':
      array(v, field, PROGRAM_LIMITS.entries);
      return;
  }
}

/** A pooling window (PoolParams) or a convolution (Conv2dParams, `conv`): NCHW input shape,
 * window, strides, pads (and weights, dilations, group), with an output of at least one
 * element per axis and sizes under the limit. */
function windowGeometry(v: Json, field: string, conv: boolean): LayoutSizes {
  const g = object(v, field);
  const allowed = conv ? ['inShape', 'weightShape', 'strides', 'pads', 'dilations', 'group'] : ['inShape', 'kernel', 'strides', 'pads'];
  for (const k of Object.keys(g)) if (!allowed.includes(k)) fail(`${field}.${k}`, 'unknown field');
  const [n, c, h, w] = ints(g.inShape, `${field}.inShape`, 4, 1);
  shape(g.inShape, `${field}.inShape`);
  const strides = ints(g.strides, `${field}.strides`, 2, 1);
  const pads = ints(g.pads, `${field}.pads`, 4, 0);
  let kernel: number[];
  let channels = c;
  if (conv) {
    const ws = ints(g.weightShape, `${field}.weightShape`, 4, 1);
    channels = ws[0];
    shape(g.weightShape, `${field}.weightShape`);
    const group = int(g.group, `${field}.group`, 1, c);
    if (c % group !== 0 || ws[0] % group !== 0 || ws[1] * group !== c) fail(`${field}.group`, `group ${group} does not fit ${c} input channels and weights [${ws.join(',')}]`);
    const dil = ints(g.dilations, `${field}.dilations`, 2, 1);
    kernel = [(ws[2] - 1) * dil[0] + 1, (ws[3] - 1) * dil[1] + 1];
  } else kernel = ints(g.kernel, `${field}.kernel`, 2, 1);
  const outH = Math.floor((h + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
  const outW = Math.floor((w + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
  if (outH < 1 || outW < 1) fail(field, `a ${kernel.join('×')} window over ${h}×${w} (pads ${pads.join(',')}) has no output`);
  return { inputs: [{ size: n * c * h * w, field: 'pool.inShape' }], output: n * channels * outH * outW };
}

/** The sizes a step of a kind with a checked geometry declares (pools, broadcasting elementwise
 * steps), beyond the layout kinds. */
function geometrySizes(kind: string, params: Record<string, Json>, field: string, operands: number): LayoutSizes | undefined {
  if ((kind === 'add' || kind === 'sub' || kind === 'addConst') && (params.shapes !== undefined || params.outShape !== undefined)) {
    // each operand broadcast to outShape (numpy rules), as the layout kind broadcast checks it
    const shapes = array(params.shapes, `${field}.shapes`, operands);
    if (shapes.length !== operands) fail(`${field}.shapes`, `${shapes.length} shapes for ${operands} operands`);
    const each = shapes.map((s, j) => LAYOUT_SCHEMAS.broadcast({ shape: s, outShape: params.outShape }, `${field}.shapes[${j}]`, 1));
    return { inputs: each.map((e, j) => ({ size: e.inputs[0].size, field: `shapes[${j}]` })), output: each[0].output };
  }
  if (kind === 'maxPool' || kind === 'avgPool') return windowGeometry(params.pool, `${field}.pool`, false);
  // A ReLU's size (the offline phase deals its comparison from it) must be its operand's.
  if (kind === 'relu' && typeof params.size === 'number') return { inputs: [{ size: params.size, field: 'size' }], output: params.size };
  if (kind === 'globalAvgPool') {
    const dims = ints(params.inShape, `${field}.inShape`, 4, 1);
    return { inputs: [{ size: dims.reduce((a, b) => a * b, 1), field: 'inShape' }], output: dims[0] * dims[1] };
  }
  return undefined;
}

/** Parses and validates the text of party `party`'s program.json (`file` names it in errors). */
export function parseProgram(text: string, file: string, party: PartyId): Program {
  try {
    if (text.length > PROGRAM_LIMITS.fileBytes) fail('(file)', `${text.length} bytes, at most ${PROGRAM_LIMITS.fileBytes}`);
    let raw: Json;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return fail('(file)', `not JSON (${(e as Error).message})`);
    }
    return validateProgram(raw, party);
  } catch (e) {
    if (e instanceof Refusal) throw runtimeError('MPCC5222', [file, e.field, e.problem]);
    throw e;
  }
}

/** Checks a parsed program (throws a Refusal). */
function validateProgram(raw: Json, party: PartyId): Program {
  const p = object(raw, '(top)');
  const known = new Set(['format', 'party', 'frac', 'ring', 'input', 'outputs', 'setup', 'steps', 'rounds', 'oneTimeRounds']);
  for (const k of Object.keys(p)) if (!known.has(k)) fail(k, 'unknown field');
  int(p.format, 'format', PROGRAM_FORMAT, PROGRAM_FORMAT);
  int(p.party, 'party', party, party);
  int(p.frac, 'frac', 0, 40);
  const ring = p.ring === undefined ? 64 : ringBits(p.ring, 'ring');
  /** A setup's or step's `ring` (absent: 64) must be the program's. */
  const sameRing = (v: Json | undefined, field: string): void => {
    const own = v === undefined ? 64 : ringBits(v, field);
    if (own !== ring) fail(field, v === undefined ? `missing (the program runs in Z_2^${ring})` : `Z_2^${own}, the program runs in Z_2^${ring}`);
  };
  int(p.rounds, 'rounds', 0, PROGRAM_LIMITS.rounds);
  int(p.oneTimeRounds, 'oneTimeRounds', 0, PROGRAM_LIMITS.rounds);
  const input = object(p.input, 'input');
  name(input.name, 'input.name');
  name(input.value, 'input.value');
  const inputShape = shape(input.shape, 'input.shape');

  const layers = new Set<string>();
  array(p.setup, 'setup', PROGRAM_LIMITS.setup).forEach((s, i) => {
    const f = `setup[${i}]`;
    const st = object(s, f);
    const layer = name(st.name, `${f}.name`);
    sameRing(st.ring, `${f}.ring`);
    if (layers.has(layer)) fail(`${f}.name`, `layer '${layer}' set up twice`);
    layers.add(layer);
    name(st.weights, `${f}.weights`);
    const map = object(st.map, `${f}.map`);
    if (map.kind === 'matmul') {
      const [m, k, n] = ['m', 'k', 'n'].map((d) => int(map[d], `${f}.map.${d}`, 1, PROGRAM_LIMITS.elements));
      if (m * k > PROGRAM_LIMITS.elements || k * n > PROGRAM_LIMITS.elements || m * n > PROGRAM_LIMITS.elements) fail(`${f}.map`, `a ${m}×${k}×${n} product beyond the size limit`);
    } else if (map.kind === 'conv') {
      windowGeometry(map.conv, `${f}.map.conv`, true);
    } else fail(`${f}.map.kind`, `expected 'conv' or 'matmul', got ${describe(map.kind)}`);
  });

  const produced = new Set<string>();
  /** The values of a smaller ring than the program's, by name (absent: the program's ring). */
  const narrow = new Map<string, number>();
  /** A 'helperSelect' step with its own smaller ring makes a value of it, the carrying kinds keep
   * it (NARROW_CARRYING_KINDS), a lifting 'truncateClientOffline' reads exactly such a value of
   * Z_2^(ring − bits) and makes one of the program's ring; any other step reads only the program's. */
  const ringFlow = (kind: string, params: Record<string, Json>, ins: readonly string[], outs: readonly string[], f: string): void => {
    const rings = ins.map((v) => narrow.get(v) ?? ring);
    const own = kind === 'helperSelect' && params.ring !== undefined ? (params.ring as number) : ring;
    let made = ring;
    if (kind === 'helperSelect') {
      rings.forEach((r, j) => r < own && fail(`${f}.inputs[${j}]`, `value '${ins[j]}' is of Z_2^${r}, below the step's ring Z_2^${own}`));
      const w = params.window as { lo: number; k: number };
      if (own < ring && w.lo + w.k > own) fail(`${f}.params.window`, `bits [${w.lo}, ${w.lo + w.k}) reach beyond the step's ring Z_2^${own}`);
      if (own < ring && (Number(params.bits) !== 0 || ins.length > 1)) fail(`${f}.params.ring`, `a selection in a smaller ring than the program's folds no truncation and no residual`);
      // the helper's copies in a smaller ring (copy-ring.ts), only inside the program's ring
      const copy = params.copyRing;
      if (copy !== undefined && (own < ring || !(COPY_RINGS as readonly number[]).includes(copy as number) || (copy as number) >= ring || ring - (copy as number) > MAX_COPY_LIFT_BITS))
        fail(`${f}.params.copyRing`, `${describe(copy)}: the helper's copies take ${COPY_RINGS.join(' or ')} bits, below the program's ring Z_2^${ring} by at most ${MAX_COPY_LIFT_BITS}, in a selection in the program's ring`);
      made = own;
    } else if (kind === 'truncateClientOffline' && params.lift === true) {
      const from = ring - Number(params.bits);
      if (rings[0] !== from) fail(`${f}.params.lift`, `lifts a value of Z_2^${from} (ring − bits), the operand '${ins[0]}' is of Z_2^${rings[0]}`);
    } else if (NARROW_CARRYING_KINDS.has(kind)) made = Math.min(ring, ...rings);
    else if (Object.hasOwn(params, 'lift')) fail(`${f}.params.lift`, `not a parameter of a '${kind}' step`);
    else rings.forEach((r, j) => r < ring && fail(`${f}.inputs[${j}]`, `value '${ins[j]}' is of the smaller ring Z_2^${r}: a '${kind}' step reads only the program's ring Z_2^${ring} (a lifting 'truncateClientOffline' first)`));
    if (made < ring) for (const o of outs) narrow.set(o, made);
  };
  /** Element counts of the values whose size the validator knows. */
  const sizes = new Map<string, number>();
  const stepNames = new Set<string>();
  /** The masked activations kept by product steps (keepMasked): the step and its layer. */
  const masked = new Map<string, { step: string; layer: string }>();
  const setupMap = (layer: string) => (p.setup as { name: string; map: MapSpec }[]).find((m) => m.name === layer)!.map;
  const xSize = (layer: string): number => {
    const map = setupMap(layer);
    return map.kind === 'matmul' ? map.m * map.k : map.conv.inShape.reduce((a, b) => a * b, 1);
  };
  const ySize = (layer: string): number => {
    const map = setupMap(layer);
    return map.kind === 'matmul' ? map.m * map.n : conv2dOutShape(map.conv).reduce((a, b) => a * b, 1);
  };
  /** A 'weightsSharedMask' step reads the masked activation an earlier product kept, names
   * that step, and multiplies an activation of the same size. */
  const sharesMask = (params: Record<string, Json>, operand: string, f: string): void => {
    const source = masked.get(operand);
    if (!source) fail(`${f}.inputs[0]`, `value '${operand}' is no masked activation a product step kept (keepMasked)`);
    if (source!.step !== params.maskFrom) fail(`${f}.params.maskFrom`, `'${String(params.maskFrom)}', the operand '${operand}' was kept by step '${source!.step}'`);
    if (xSize(source!.layer) !== xSize(params.layer as string)) fail(`${f}.params.layer`, `layer '${String(params.layer)}' reads ${xSize(params.layer as string)} elements, the shared mask has ${xSize(source!.layer)}`);
  };
  /** The client-offline products that sent their operand's masked share (no maskFrom): step → operand and layer. */
  const clientOfflineSenders = new Map<string, { operand: string; layer: string }>();
  /** A 'weightsClientOffline' step with maskFrom names an earlier such step that sent its own
   * masked share of the same operand, of the same size. */
  const sharesClientOfflineMask = (params: Record<string, Json>, operand: string, f: string): void => {
    const source = clientOfflineSenders.get(params.maskFrom as string);
    if (!source) fail(`${f}.params.maskFrom`, `'${String(params.maskFrom)}' names no earlier 'weightsClientOffline' step that sends its masked activation`);
    if (source!.operand !== operand) fail(`${f}.inputs[0]`, `value '${operand}', the step '${String(params.maskFrom)}' whose mask it shares reads '${source!.operand}'`);
    if (xSize(source!.layer) !== xSize(params.layer as string)) fail(`${f}.params.layer`, `layer '${String(params.layer)}' reads ${xSize(params.layer as string)} elements, the shared mask has ${xSize(source!.layer)}`);
  };
  let inputSteps = 0;
  array(p.steps, 'steps', PROGRAM_LIMITS.steps).forEach((s, i) => {
    const f = `steps[${i}]`;
    const st = object(s, f);
    for (const k of Object.keys(st)) if (!['name', 'kind', 'op', 'round', 'rounds', 'inputs', 'outputs', 'params'].includes(k)) fail(`${f}.${k}`, 'unknown field');
    const stepName = name(st.name, `${f}.name`);
    if (stepNames.has(stepName)) fail(`${f}.name`, `step '${stepName}' appears twice`);
    stepNames.add(stepName);
    if (typeof st.kind !== 'string' || !Object.hasOwn(KIND_SCHEMAS, st.kind)) fail(`${f}.kind`, `unknown step kind ${describe(st.kind)}`);
    const kind = st.kind as keyof typeof KIND_SCHEMAS;
    const schema = KIND_SCHEMAS[kind];
    name(st.op, `${f}.op`);
    const round = int(st.round, `${f}.round`, 0, p.rounds as number);
    const rounds = int(st.rounds, `${f}.rounds`, 0, p.rounds as number);
    if (rounds > 0 && (round < 1 || round + rounds - 1 > (p.rounds as number))) fail(`${f}.round`, `rounds ${round}..${round + rounds - 1} outside the program's 1..${p.rounds as number}`);
    const ins = array(st.inputs, `${f}.inputs`, PROGRAM_LIMITS.operands).map((v, j) => name(v, `${f}.inputs[${j}]`));
    const outs = array(st.outputs, `${f}.outputs`, PROGRAM_LIMITS.operands).map((v, j) => name(v, `${f}.outputs[${j}]`));
    if (ins.length < schema.inputs[0] || ins.length > schema.inputs[1]) fail(`${f}.inputs`, `${ins.length} operands for a '${kind}' step (${schema.inputs[0]}..${schema.inputs[1]})`);
    // A product step that keeps P1's masked activation for later products (keepMasked) has one more result.
    const keeps = (kind === 'weights' || kind === 'reluWeights') && (st.params as { keepMasked?: unknown } | null)?.keepMasked === true;
    const results = schema.outputs + (keeps ? 1 : 0);
    if (outs.length !== results) fail(`${f}.outputs`, `${outs.length} results for a '${kind}' step (${results})`);
    ins.forEach((v, j) => produced.has(v) || fail(`${f}.inputs[${j}]`, `value '${v}' is read before any step produces it`));
    outs.forEach((v, j) => (produced.has(v) ? fail(`${f}.outputs[${j}]`, `value '${v}' is produced twice`) : produced.add(v)));
    const params = object(st.params, `${f}.params`);
    plainParams(params, `${f}.params`);
    for (const [k, t] of Object.entries(schema.required ?? {})) {
      if (!Object.hasOwn(params, k)) fail(`${f}.params.${k}`, `missing (a '${kind}' step needs it)`);
      typed(params[k], t, `${f}.params.${k}`);
    }
    for (const [k, t] of Object.entries(schema.optional ?? {})) if (Object.hasOwn(params, k) && params[k] !== undefined) typed(params[k], t, `${f}.params.${k}`);
    if (kind === 'helperSelect' && params.ring !== undefined && selectionRingBits(params.ring, `${f}.params.ring`) < ring) {
      // a selection in a smaller ring (lower-client-offline.ts window_ring): checked by ringFlow
    } else if (RING_PARAM_KINDS.has(kind)) sameRing(params.ring, `${f}.params.ring`);
    else if (Object.hasOwn(params, 'ring')) fail(`${f}.params.ring`, `not a parameter of a '${kind}' step (only ${[...RING_PARAM_KINDS].join(', ')} carry the ring)`);
    // the three-way truncation's range (its mod 2^f values live in 32-bit words)
    if (kind === 'truncateClientOffline') int(params.bits, `${f}.params.bits`, 1, MAX_EXACT_TRUNCATION_BITS);
    // a pool's reciprocal bits (runtime/protocols/linear.ts avgPool)
    if ((kind === 'avgPool' || kind === 'globalAvgPool') && params.divideBits !== undefined) int(params.divideBits, `${f}.params.divideBits`, 1, AVG_SHIFT);
    // A client-offline product's operand and result are tracked (its offline dealing sizes them).
    if (kind === 'weightsClientOffline' && !layers.has(params.layer as string)) fail(`${f}.params.layer`, `no setup step for layer '${String(params.layer)}'`);
    const declared =
      kind === 'weightsClientOffline'
        ? { inputs: [{ size: xSize(params.layer as string), field: 'layer' }], output: ySize(params.layer as string) }
        : (schema.check?.(params, `${f}.params`, ins.length) ?? geometrySizes(kind, params, `${f}.params`, ins.length));
    declared?.inputs.forEach(({ size, field }, j) => {
      const actual = sizes.get(ins[j]);
      if (actual !== undefined && actual !== size) fail(`${f}.params.${field}`, `${size} elements, the operand '${ins[j]}' has ${actual}`);
    });
    // the sizes that follow from the step: a layout step's or a pool's result, the input's, and
    // what an elementwise step keeps (the products' results are not tracked)
    const size = declared ? declared.output : kind === 'input' ? (params.size as number) : SIZE_KEEPING.has(kind) ? sizes.get(ins[0]) : undefined;
    if (size !== undefined && outs.length === 1) sizes.set(outs[0], size);
    // a product's result has its layer's output size (a client-offline step's dealing is sized by it)
    if (PRODUCT_KINDS.has(kind) && layers.has(params.layer as string)) sizes.set(productValue({ kind, outputs: outs }), ySize(params.layer as string));
    if (Object.hasOwn(params, 'layer') && !layers.has(params.layer as string)) fail(`${f}.params.layer`, `no setup step for layer '${String(params.layer)}'`);
    if (keeps) masked.set(outs[outs.length - 1], { step: stepName, layer: params.layer as string });
    if (kind === 'weightsClientOffline') {
      if (Object.hasOwn(params, 'maskFrom')) sharesClientOfflineMask(params, ins[0], f);
      else clientOfflineSenders.set(stepName, { operand: ins[0], layer: params.layer as string });
    }
    if (kind === 'weightsSharedMask') sharesMask(params, ins[0], `${f}`);
    else ins.forEach((v, j) => masked.has(v) && fail(`${f}.inputs[${j}]`, `value '${v}' is a masked activation: only a 'weightsSharedMask' step reads it`));
    ringFlow(kind, params, ins, outs, f);
    if (kind === 'input') {
      inputSteps++;
      const n = inputShape.reduce((a, b) => a * b, 1);
      if (params.size !== n) fail(`${f}.params.size`, `${String(params.size)} elements, the input shape [${inputShape.join(',')}] has ${n}`);
      if (outs[0] !== input.value) fail(`${f}.outputs[0]`, `the input step produces '${outs[0]}', the program's input value is '${String(input.value)}'`);
    }
  });
  if (inputSteps !== 1) fail('steps', `${inputSteps} input steps (exactly one)`);
  if (ring < 64) checkRingSteps(p.steps as unknown as ProgramStep[], ring);

  array(p.outputs, 'outputs', PROGRAM_LIMITS.outputs).forEach((o, i) => {
    const f = `outputs[${i}]`;
    const out = object(o, f);
    name(out.name, `${f}.name`);
    const v = name(out.value, `${f}.value`);
    shape(out.shape, `${f}.shape`);
    if (!revealed(p.steps as Json[], v)) fail(`${f}.value`, `value '${v}' is revealed by no step`);
    array(out.post, `${f}.post`, 8).forEach((q, j) => {
      const post = object(q, `${f}.post[${j}]`);
      if (post.op !== 'Softmax' && post.op !== 'ArgMax' && post.op !== 'Round') fail(`${f}.post[${j}].op`, `expected Softmax, ArgMax or Round, got ${describe(post.op)}`);
      if (post.op === 'Round') {
        for (const k of Object.keys(post)) if (k !== 'op') fail(`${f}.post[${j}].${k}`, 'Round takes no attribute');
        return;
      }
      int(post.axis, `${f}.post[${j}].axis`, -PROGRAM_LIMITS.rank, PROGRAM_LIMITS.rank - 1);
      if (post.keepdims !== undefined && typeof post.keepdims !== 'boolean') fail(`${f}.post[${j}].keepdims`, 'expected true or false');
    });
  });
  return raw as Program;
}

/** A selection's ring bits: one of SELECTION_RING_BITS or 64. */
function selectionRingBits(v: Json, field: string): number {
  const bits = int(v, field, 0, 64);
  if (bits !== 64 && !(SELECTION_RING_BITS as readonly number[]).includes(bits)) fail(field, `${bits} bits, expected one of ${SELECTION_RING_BITS.join(', ')}, 64`);
  return bits;
}

/** A ring's bits: one of RING_BITS. */
function ringBits(v: Json, field: string): number {
  const bits = int(v, field, 0, 64);
  if (!(RING_BITS as readonly number[]).includes(bits)) fail(field, `${bits} bits, expected one of ${RING_BITS.join(', ')}`);
  return bits;
}

/** Step kinds a program in a ring smaller than Z_2^64 may run: the client-offline mode's (exact
 * while |v| < 2^(ring − 2)), the products and the reveal, and the local steps that are ring
 * homomorphisms (a pool only with its division left to the exact truncation after it, a Resize
 * only in nearest mode); any other step would read bits above the ring as the value's. */
const RING_HOMOMORPHIC_KINDS: ReadonlySet<string> = new Set([
  'input', 'reveal', 'weights', 'weightsSharedMask', 'weightsClientOffline', 'helperSelect', 'truncateClientOffline',
  'add', 'sub', 'addConst', 'identity', 'transpose', 'slice', 'concat', 'pad', 'broadcast', 'resize', 'avgPool', 'globalAvgPool',
]);

/** The rules of a program in Z_2^ring, ring < 64 (see the file comment). */
function checkRingSteps(steps: readonly ProgramStep[], ring: number): void {
  if (!isClientOffline({ steps: [...steps] })) fail('ring', `Z_2^${ring} needs a client-offline program (a step of kind helperSelect, truncateClientOffline or weightsClientOffline): only its truncations are exact`);
  steps.forEach((st, i) => {
    const f = `steps[${i}]`;
    const truncating =
      !RING_HOMOMORPHIC_KINDS.has(st.kind) ||
      ((st.kind === 'avgPool' || st.kind === 'globalAvgPool') && st.params.untruncated !== true) ||
      (st.kind === 'resize' && st.params.mode !== 'nearest');
    if (truncating) fail(`${f}.kind`, `a '${st.kind}' step${st.kind === 'resize' || st.kind.endsWith('vgPool') ? ' that truncates its shares' : ''} cannot run in Z_2^${ring} (the program's ring): it reads bits above the ring`);
    if (st.kind === 'helperSelect') {
      const w = st.params.window as { lo: number; k: number };
      const own = Number(st.params.ring ?? ring);
      if (w.lo + w.k > own) fail(`${f}.params.window`, `bits [${w.lo}, ${w.lo + w.k}) reach beyond the ring Z_2^${own}`);
    }
  });
}

/** True when a reveal step names `v` as the value it reveals. */
function revealed(steps: Json[], v: string): boolean {
  return steps.some((s) => (s as { kind: string; params: { value?: string } }).kind === 'reveal' && (s as { params: { value?: string } }).params.value === v);
}
