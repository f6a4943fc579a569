// The verifier: checks a graph's structure, dominance, attributes and types against the op
// table, and (given a stage) the ops that stage allows (ir/stage.ts); it reports the first
// problem with the node it is at.
import type { AttrValue, Graph, Node } from './graph.js';
import { type DiagnosticCode, diag } from '../runtime/diagnostics.js';
import { notSupported } from './ops/facts.js';
import { type AttrSpec, type OpDef, ShapeError, lookupOp, shapeContext } from './ops/index.js';
import { type Stage, checkStage } from './stage.js';
import { Tensor } from './tensor.js';
import { type TensorType, formatType, sameShape } from './types.js';

/** What a graph not at the stage a pass or codegen needs raises (MPCC6005 names the node). */
const STAGE_CODES: Readonly<Record<Stage, DiagnosticCode>> = { float: 'MPCC6005', quantized: 'MPCC6021', lowered: 'MPCC6041', scheduled: 'MPCC6041' };

/**
 * Throws at the first problem of `g`: MPCC2002/MPCC2003 when it is malformed; with `stage`,
 * MPCC6001 for an op secure inference cannot run, MPCC6025 for a secure op without its round,
 * and STAGE_CODES[stage] when `g` is at another stage. Returns `g` when all is well.
 */
export function verify(g: Graph, stage?: Stage): Graph {
  verifyStructure(g);
  const problem = stage && checkStage(g, stage);
  if (!problem || !stage) return g;
  const { node, reason } = problem;
  if (problem.kind === 'unsupported') throw notSupported(node!, reason);
  if (problem.kind === 'unscheduled') throw diag('MPCC6025', [node!.name, node!.op]);
  throw diag(STAGE_CODES[stage], stage === 'float' ? [node!.name, node!.op] : [reason]);
}

function verifyStructure(g: Graph): void {
  const defined = new Set<string>();
  const fail = (msg: string) => { throw diag('MPCC2003', [msg]); };
  for (const name of g.inputs) {
    if (!g.types.has(name)) fail(`graph input '${name}' has no type`);
    if (defined.has(name)) fail(`graph input '${name}' is declared twice`);
    defined.add(name);
  }
  for (const [name, t] of g.constants) {
    const ty = g.types.get(name);
    if (!ty) fail(`constant '${name}' has no type`);
    else if (ty.dtype !== t.dtype || !sameShape(ty.shape, t.shape)) fail(`constant '${name}' holds ${t.dtype}[${t.shape.join(',')}] but is typed ${formatType(ty)}`);
    if (defined.has(name)) fail(`constant '${name}' is also a graph input`);
    defined.add(name);
  }
  const nodeNames = new Set<string>();
  for (const node of g.nodes) {
    if (nodeNames.has(node.name)) throw diag('MPCC2002', [node.name, node.op, 'node name is used twice']);
    nodeNames.add(node.name);
    verifyNode(g, node, defined);
    for (const o of node.outputs) {
      if (defined.has(o)) throw diag('MPCC2002', [node.name, node.op, `value '${o}' is defined twice`]);
      defined.add(o);
    }
  }
  for (const o of g.outputs) if (!defined.has(o)) fail(`graph output '${o}' is not defined`);
}

function verifyNode(g: Graph, node: Node, defined: Set<string>): void {
  const fail = (msg: string): never => { throw diag('MPCC2002', [node.name, node.op, msg]); };
  const def = lookupOp(node.op);
  if (!def) return fail(`unknown op '${node.op}'`);
  checkOperandCount(def, node, fail);
  node.inputs.forEach((name, i) => {
    if (!name) {
      if (!def.inputs[Math.min(i, def.inputs.length - 1)].optional) fail(`operand ${i} is required`);
      return;
    }
    if (!defined.has(name)) fail(`operand '${name}' is used before it is defined`);
  });
  for (const [key, value] of Object.entries(node.attrs)) {
    const spec = def.attrs[key];
    if (!spec) fail(`unknown attribute '${key}'`);
    const problem = checkAttr(spec, value);
    if (problem) fail(`attribute '${key}': ${problem}`);
  }
  for (const [key, spec] of Object.entries(def.attrs)) if (spec.default === undefined && !(key in node.attrs)) fail(`attribute '${key}' is required`);
  if (node.outputs.length !== def.outputs) fail(`has ${node.outputs.length} results, expected ${def.outputs}`);
  const inputTypes = node.inputs.map((i) => (i ? g.types.get(i) : undefined));
  const constants = node.inputs.map((i) => (i ? g.constants.get(i) : undefined));
  let inferred: TensorType[];
  try {
    inferred = def.infer(shapeContext(node, def, inputTypes, constants));
  } catch (err) {
    if (err instanceof ShapeError) return fail(err.message);
    throw err;
  }
  node.outputs.forEach((o, i) => {
    const ty = g.types.get(o);
    if (!ty) return fail(`result '${o}' has no type`);
    const want = inferred[i];
    if (ty.dtype !== want.dtype || !sameShape(ty.shape, want.shape)) fail(`result '${o}' is typed ${formatType(ty)} but the op gives ${formatType(want)}`);
  });
}

function checkOperandCount(def: OpDef, node: Node, fail: (m: string) => never): void {
  const problem = operandCountProblem(def, node.inputs.length);
  if (problem) fail(problem);
}

/** Why `count` operands do not fit `def`, or undefined when they do. */
function operandCountProblem(def: OpDef, count: number): string | undefined {
  const variadic = def.inputs.length > 0 && def.inputs[def.inputs.length - 1].variadic;
  const required = def.inputs.filter((s) => !s.optional && !s.variadic).length + (variadic ? 1 : 0);
  const max = variadic ? Infinity : def.inputs.length;
  if (count < required || count > max) return `has ${count} operands, expected ${required === max ? required : `${required} to ${max === Infinity ? 'any' : max}`}`;
  return undefined;
}

/** Why operands `inputs` ('' for an omitted one) do not fit `def`: too few or too many, or a
 * required one omitted; undefined when they fit. (The importer asks before building a node.) */
export function operandProblem(def: OpDef, inputs: readonly string[]): string | undefined {
  const count = operandCountProblem(def, inputs.length);
  if (count) return count;
  const missing = inputs.findIndex((name, i) => !name && !def.inputs[Math.min(i, def.inputs.length - 1)].optional);
  return missing < 0 ? undefined : `operand ${missing} is required`;
}

/** Why `value` does not fit `spec`, or undefined when it does. */
export function checkAttr(spec: AttrSpec, value: AttrValue): string | undefined {
  const isNums = Array.isArray(value) && value.every((v) => typeof v === 'number');
  const isStrs = Array.isArray(value) && value.every((v) => typeof v === 'string');
  switch (spec.kind) {
    case 'int': if (typeof value !== 'number' || !Number.isInteger(value)) return 'expected an integer'; break;
    case 'float': if (typeof value !== 'number') return 'expected a number'; break;
    case 'ints': if (!isNums || !(value as number[]).every(Number.isInteger)) return 'expected a list of integers'; break;
    case 'floats': if (!isNums) return 'expected a list of numbers'; break;
    case 'string': if (typeof value !== 'string') return 'expected a string'; break;
    case 'strings': if (!isStrs) return 'expected a list of strings'; break;
    case 'tensor': if (!(value instanceof Tensor)) return 'expected a tensor'; break;
  }
  if (spec.range) {
    const [lo, hi] = spec.range;
    const nums = typeof value === 'number' ? [value] : isNums ? (value as number[]) : [];
    const bad = nums.find((v) => v < lo || v > hi);
    if (bad !== undefined) return `${bad} is outside [${lo}, ${hi}]`;
  }
  if (spec.oneOf && typeof value === 'string' && !spec.oneOf.includes(value)) return `'${value}' is not one of ${spec.oneOf.join(', ')}`;
  return undefined;
}
