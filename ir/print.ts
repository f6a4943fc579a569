// The printer of the textual IR (.mir). The output is deterministic and re-parses (ir/parse.ts)
// to a graph that prints identically. Every value's type is printed, so a reader needs no shape
// inference. Tensors of at most INLINE_LIMIT elements (shapes, axes, scalars) are printed as
// literal lists; bigger ones are stored in the weights file (ir/weights.ts) and referenced as
// `weights[i]` with a summary comment, never printed inline.
//
//   mir 1
//   weights "model.weights"
//   graph @net(%input: float32[1,3,32,32]) -> (%logits: float32[1,10]) {
//     const %conv1.weight: float32[8,3,3,3] = weights[0]  // min -0.19 max 0.19 mean 0.0021
//     const %shape: int64[2] = [1, -1]
//     %x: float32[1,8,32,32] = Conv "conv1"(%input, %conv1.weight, none) {group = 1, pads = [1, 1, 1, 1]}
//     ...
//   }
import type { AttrValue, Graph, Node } from './graph.js';
import { Tensor } from './tensor.js';
import { type TensorType, formatType } from './types.js';
import { MIR_KEYWORDS, MIR_VERSION, formatAttrNumber, formatFloat32, formatGraphName, formatKey, formatNumber, formatValueName, quoteString } from './text-syntax.js';

/** Tensors with at most this many elements are printed inline; bigger ones go to the weights file. */
export const INLINE_LIMIT = 16;

/** Options of the printer. */
export interface PrintOptions {
  /** File name of the weights file, recorded on the `weights` line (relative to the .mir file). */
  weightsRef?: string;
  /** Print min/max/mean comments after weight references (default true). */
  summaries?: boolean;
}

/** One tensor stored in the weights file, in `weights[i]` order. */
export interface WeightEntry {
  /** The constant's value name, or `node/attribute` for a tensor attribute. */
  readonly name: string;
  readonly tensor: Tensor;
}

/** The text of a graph and the tensors its `weights[i]` references point at. */
export interface PrintedGraph {
  readonly text: string;
  readonly weights: readonly WeightEntry[];
}

/** The textual IR of `g`. */
export function printGraph(g: Graph, opts: PrintOptions = {}): string {
  return printGraphWithWeights(g, opts).text;
}

/** The textual IR of `g` together with the tensors to store in its weights file. */
export function printGraphWithWeights(g: Graph, opts: PrintOptions = {}): PrintedGraph {
  const weights: WeightEntry[] = [];
  const summaries = opts.summaries ?? true;
  const out: string[] = [`mir ${MIR_VERSION}`];
  if (opts.weightsRef !== undefined) out.push(`weights ${quoteString(opts.weightsRef)}`);
  const typed = (v: string) => `${formatValueName(v)}: ${typeText(g.types.get(v))}`;
  out.push(`graph ${formatGraphName(g.name)}(${g.inputs.map(typed).join(', ')}) -> (${g.outputs.map(typed).join(', ')}) {`);
  for (const [name, t] of g.constants) {
    const head = `  const ${formatValueName(name)}: ${typeText(g.types.get(name))} = `;
    if (t.size <= INLINE_LIMIT) {
      out.push(head + literalList(t));
    } else {
      weights.push({ name, tensor: t });
      out.push(head + `weights[${weights.length - 1}]` + (summaries ? `  // ${summary(t)}` : ''));
    }
  }
  for (const node of g.nodes) out.push('  ' + nodeText(g, node, weights));
  out.push('}');
  return { text: out.join('\n') + '\n', weights };
}

function nodeText(g: Graph, node: Node, weights: WeightEntry[]): string {
  const results = node.outputs.map((o) => `${formatValueName(o)}: ${typeText(g.types.get(o))}`).join(', ');
  const operands = node.inputs.map((i) => (i ? formatValueName(i) : 'none')).join(', ');
  const keys = Object.keys(node.attrs).sort();
  const attrs = keys.map((k) => `${formatKey(k)} = ${attrText(node.attrs[k], `${node.name}/${k}`, weights)}`);
  return `${results ? results + ' = ' : ''}${opText(node.op)} ${quoteString(node.name)}(${operands})${attrs.length ? ` {${attrs.join(', ')}}` : ''}`;
}

function attrText(v: AttrValue, weightName: string, weights: WeightEntry[]): string {
  if (typeof v === 'number') return formatAttrNumber(v);
  if (typeof v === 'string') return quoteString(v);
  if (v instanceof Tensor) {
    if (v.size <= INLINE_LIMIT) return `${formatType(v)} ${literalList(v)}`;
    weights.push({ name: weightName, tensor: v });
    return `${formatType(v)} weights[${weights.length - 1}]`;
  }
  return `[${(v as readonly (number | string)[]).map((x) => (typeof x === 'number' ? formatAttrNumber(x) : quoteString(x))).join(', ')}]`;
}

/** Op names are identifiers in practice; anything else (or a keyword) is quoted so the text
 * still parses. */
function opText(op: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(op) && !MIR_KEYWORDS.includes(op) ? op : quoteString(op);
}

function typeText(t: TensorType | undefined): string {
  // An untyped value only occurs in a broken graph; print it visibly rather than crash, so a
  // graph can always be printed for debugging (the parser rejects it).
  return t ? formatType(t) : '<no type>';
}

/** Elements in row-major order, spelled so they read back bit-exactly in the tensor's dtype. */
function literalList(t: Tensor): string {
  const fmt = t.dtype === 'float32' ? formatFloat32 : formatNumber;
  return `[${Array.from(t.data as ArrayLike<number>, fmt).join(', ')}]`;
}

/** `min … max … mean …` of a tensor, to four significant digits. */
function summary(t: Tensor): string {
  let min = Infinity, max = -Infinity, sum = 0;
  const d = t.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const short = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : formatNumber(x));
  return `min ${short(min)} max ${short(max)} mean ${short(sum / d.length)}`;
}
