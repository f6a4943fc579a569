// The parser of the textual IR (.mir): syntax (ir/parse-grammar.ts) → a verified Graph. Every
// problem is reported at its line and column with the source line and a caret: MPCC2001 for
// syntax, MPCC2005 for meaning (undefined or redefined value, unknown op, bad literal),
// MPCC2002 for what the verifier finds at a node (located at that node), MPCC2004 for
// weights references that do not fit the weights file.
import { type AttrValue, type Graph, type Node, makeGraph, makeNode } from './graph.js';
import { MpccError, diag } from '../runtime/diagnostics.js';
import { lookupOp, opNames } from './ops/index.js';
import { type MirSyntax, type NodeSyntax, type TensorInit, type TypeSyntax, type AttrSyntax, type Located, parseMirSyntax } from './parse-grammar.js';
import type { WeightEntry } from './print.js';
import { Tensor, tensorOf, zeros } from './tensor.js';
import { MIR_VERSION, type SourceLoc, formatValueName, locatedError } from './text-syntax.js';
import { DTYPES, type DType, type TensorType, formatType, numel, sameShape } from './types.js';
import { verify } from './verify.js';

export { parseMirSyntax, type MirSyntax } from './parse-grammar.js';

/** Options of the parser. */
export interface ParseOptions {
  /** File name shown in error locations. */
  file?: string;
  /** Tensors for the `weights[i]` references; 'zeros' fills them with zeros (text-only tests). */
  weights?: readonly WeightEntry[] | 'zeros';
  /** Name of the weights file, for messages. */
  weightsFile?: string;
  /** Check ops and types against the op table (default true); off to read a broken graph
   * back for debugging. */
  verify?: boolean;
}

/** Parses .mir text into a verified graph. */
export function parseMir(text: string, opts: ParseOptions = {}): Graph {
  return buildGraph(parseMirSyntax(text, opts.file), text, opts);
}

/** Builds and verifies the graph a parsed .mir text describes. */
export function buildGraph(syntax: MirSyntax, text: string, opts: ParseOptions = {}): Graph {
  const file = opts.file ?? '<input>';
  const fail = (msg: string, loc: SourceLoc): MpccError => locatedError(diag('MPCC2005', [msg]), text, file, loc);
  if (syntax.version.value !== MIR_VERSION) throw fail(`unsupported mir version ${syntax.version.value} (this mpcc reads version ${MIR_VERSION})`, syntax.version.loc);

  const checked = opts.verify ?? true;
  const types = new Map<string, TensorType>();
  const definedAt = new Map<string, SourceLoc>();
  const define = (name: Located<string>, type: TensorType) => {
    const prev = definedAt.get(name.value);
    if (prev) throw fail(`value ${formatValueName(name.value)} is already defined at line ${prev.line}`, name.loc);
    definedAt.set(name.value, name.loc);
    types.set(name.value, type);
  };
  const typeOf = (t: TypeSyntax): TensorType => {
    const dtype = t.dtype.value as DType;
    if (!DTYPES.includes(dtype)) throw fail(`unknown element type '${t.dtype.value}' (known: ${DTYPES.join(', ')})`, t.dtype.loc);
    for (const d of t.dims) if (!Number.isInteger(d.value) || d.value < 0) throw fail(`a dimension must be a non-negative integer, found ${d.value}`, d.loc);
    return { dtype, shape: t.dims.map((d) => d.value) };
  };
  const weightsFile = opts.weightsFile ?? (Array.isArray(opts.weights) ? '<memory>' : '<none>');
  const tensorFrom = (type: TensorType, init: TensorInit, expectedName: string): Tensor => {
    if (init.kind === 'list') return literalTensor(type, init, fail);
    const index = init.index.value;
    const weightsFail = (msg: string) => locatedError(diag('MPCC2004', [weightsFile, msg]), text, file, init.loc);
    if (opts.weights === 'zeros') return zeros(type.dtype, type.shape);
    if (!opts.weights) throw weightsFail(`no weights file was given, but ${expectedName} refers to weights[${index}]`);
    const entry = opts.weights[index];
    if (!Number.isInteger(index) || !entry) throw weightsFail(`weights[${index}] does not exist (the file has ${opts.weights.length} entries)`);
    if (entry.name !== expectedName) throw weightsFail(`weights[${index}] is '${entry.name}' but the text expects '${expectedName}'`);
    const t = entry.tensor;
    if (t.dtype !== type.dtype || !sameShape(t.shape, type.shape)) throw weightsFail(`weights[${index}] ('${entry.name}') holds ${formatType(t)} but the text declares ${formatType(type)}`);
    return t;
  };

  for (const p of syntax.inputs) define(p.name, typeOf(p.type));
  // Constants are graph-wide (defined before every node) wherever their line stands.
  const constants = new Map<string, Tensor>();
  for (const c of syntax.body) {
    if (c.kind !== 'const') continue;
    const type = typeOf(c.type);
    define(c.name, type);
    constants.set(c.name.value, tensorFrom(type, c.init, c.name.value));
  }
  const resultAt = new Map<string, SourceLoc>();
  for (const n of syntax.body) if (n.kind === 'node') for (const r of n.results) if (!resultAt.has(r.name.value)) resultAt.set(r.name.value, r.name.loc);

  const nodes: Node[] = [];
  const nodeAt = new Map<string, NodeSyntax>();
  for (const n of syntax.body) {
    if (n.kind !== 'node') continue;
    if (checked && !lookupOp(n.op.value)) throw fail(`unknown op '${n.op.value}'${didYouMean(n.op.value, opNames())}`, n.op.loc);
    const prevNode = nodeAt.get(n.name.value);
    if (prevNode) throw fail(`node name ${JSON.stringify(n.name.value)} is already used at line ${prevNode.loc.line}`, n.name.loc);
    nodeAt.set(n.name.value, n);
    for (const operand of n.operands) {
      if (!operand || definedAt.has(operand.value)) continue;
      const later = resultAt.get(operand.value);
      throw fail(later ? `value ${formatValueName(operand.value)} is used before its definition at line ${later.line}` : `value ${formatValueName(operand.value)} is not defined`, operand.loc);
    }
    const attrs: Record<string, AttrValue> = {};
    for (const { key, value } of n.attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, key.value)) throw fail(`attribute '${key.value}' is given twice`, key.loc);
      attrs[key.value] = attrFrom(value, `${n.name.value}/${key.value}`);
    }
    for (const r of n.results) define(r.name, typeOf(r.type));
    nodes.push(makeNode(n.op.value, n.name.value, n.operands.map((o) => o?.value ?? ''), n.results.map((r) => r.name.value), attrs));
  }

  function attrFrom(a: AttrSyntax, weightName: string): AttrValue {
    switch (a.kind) {
      case 'number': case 'string': return a.value;
      case 'tensor': return tensorFrom(typeOf(a.type), a.init, weightName);
      case 'list': {
        if (a.items.every((i) => i.kind === 'number')) return a.items.map((i) => i.value as number);
        if (a.items.every((i) => i.kind === 'string')) return a.items.map((i) => i.value as string);
        const odd = a.items.find((i) => i.kind !== a.items[0].kind || i.kind === 'list' || i.kind === 'tensor')!;
        throw fail('a list attribute holds only numbers or only strings', odd.loc);
      }
    }
  }

  for (const o of syntax.outputs) {
    const declared = typeOf(o.type);
    const actual = types.get(o.name.value);
    if (!actual) throw fail(`graph output ${formatValueName(o.name.value)} is not defined`, o.name.loc);
    if (actual.dtype !== declared.dtype || !sameShape(actual.shape, declared.shape)) {
      throw fail(`graph output ${formatValueName(o.name.value)} is declared ${formatType(declared)} but defined as ${formatType(actual)} at line ${definedAt.get(o.name.value)!.line}`, o.type.dtype.loc);
    }
  }

  const g = makeGraph({
    name: syntax.name.value,
    inputs: syntax.inputs.map((p) => p.name.value),
    outputs: syntax.outputs.map((p) => p.name.value),
    nodes,
    types,
    constants,
  });
  if (!checked) return g;
  try {
    return verify(g);
  } catch (err) {
    if (!(err instanceof MpccError)) throw err;
    throw locatedError(err, text, file, verifierErrorLoc(err, nodes, nodeAt) ?? syntax.name.loc);
  }
}

/** Where a verifier error belongs: the result whose type it disputes, else the node it names. */
function verifierErrorLoc(err: MpccError, nodes: readonly Node[], nodeAt: ReadonlyMap<string, NodeSyntax>): SourceLoc | undefined {
  if (err.code !== 'MPCC2002') return undefined;
  const node = nodes.find((n) => err.message.startsWith(`IR verification failed at node '${n.name}' (${n.op})`));
  const syntax = node && nodeAt.get(node.name);
  if (!syntax) return undefined;
  const result = syntax.results.find((r) => err.message.includes(`: result '${r.name.value}' is typed`));
  return result ? result.type.dtype.loc : syntax.loc;
}

function literalTensor(type: TensorType, init: Extract<TensorInit, { kind: 'list' }>, fail: (msg: string, loc: SourceLoc) => MpccError): Tensor {
  const n = numel(type.shape);
  if (init.items.length !== n) throw fail(`${formatType(type)} needs ${n} element${n === 1 ? '' : 's'}, found ${init.items.length}`, init.loc);
  const integral = type.dtype === 'int64' || type.dtype === 'int32' || type.dtype === 'bool';
  for (const item of init.items) {
    const bad = type.dtype === 'bool' ? item.value !== 0 && item.value !== 1
      : type.dtype === 'int32' ? !Number.isInteger(item.value) || item.value < -(2 ** 31) || item.value >= 2 ** 31
      : integral && !Number.isInteger(item.value);
    if (bad) {
      throw fail(`${item.value} is not a valid ${type.dtype} element`, item.loc);
    }
  }
  return tensorOf(type.dtype, type.shape, init.items.map((i) => i.value));
}

/** ` (did you mean 'Relu'?)` when a known name is within two edits of `word`. */
function didYouMean(word: string, known: readonly string[]): string {
  let best: string | undefined, bestDistance = 3;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
