// Class names for printed classes (`--classes FILE` of `mpcc compile`, `run`, `party` and `infer`):
// "top-1: class 281 (tabby cat)". The file is one name per line (PyTorch hub's
// imagenet_classes.txt; blank lines at the end ignored, a blank line inside refused), or JSON: a
// list of names, or an object from class index to a name or to [id, name] (Keras's
// imagenet_class_index.json, torchvision's). The count must equal the output's classes (MPCC0004
// naming the flag). `mpcc compile --classes` records them in every party's manifest (public, as
// the input's preprocessing), so `mpcc run` and the client print names without the flag.
import { readFileSync } from 'node:fs';
import type { Graph } from '../ir/graph.js';
import { diag } from '../runtime/diagnostics.js';

/** Most names a file may hold. */
const MAX_CLASSES = 1 << 20;

/** The class names of `path` (MPCC0002 unreadable; MPCC0004 naming --classes for a bad file). */
export function readClassNames(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw diag('MPCC0002', [path, (err as NodeJS.ErrnoException).code ?? (err as Error).message]);
  }
  const bad = (why: string) => diag('MPCC0004', ['--classes', path, why]);
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  let names: string[];
  if (trimmed === '') throw bad('it holds no class name');
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw bad(`not valid JSON (${(err as Error).message})`);
    }
    names = jsonNames(json, bad);
  } else {
    names = trimmed.split(/\r?\n/).map((l) => l.trim());
    const blank = names.findIndex((n) => n === '');
    if (blank >= 0) throw bad(`line ${blank + 1} is blank: one class name per line, class 0 first`);
  }
  if (names.length === 0) throw bad('it holds no class name');
  if (names.length > MAX_CLASSES) throw bad(`${names.length} names: at most ${MAX_CLASSES}`);
  return names;
}

/** Names from JSON: a list of strings, or {"0": name | [id, name], …} with every index 0..n−1. */
function jsonNames(json: unknown, bad: (why: string) => Error): string[] {
  if (Array.isArray(json)) {
    const i = json.findIndex((v) => typeof v !== 'string' || v.trim() === '');
    if (i >= 0) throw bad(`entry ${i} is not a class name (a non-empty string)`);
    return json.map((v) => (v as string).trim());
  }
  const entries = Object.entries(json as Record<string, unknown>);
  const names: string[] = new Array(entries.length);
  for (const [key, v] of entries) {
    const k = Number(key);
    if (!/^\d+$/.test(key) || k >= entries.length || names[k] !== undefined) throw bad(`key '${key}': the keys must be the class indices 0..${entries.length - 1}`);
    const name = typeof v === 'string' ? v : Array.isArray(v) && typeof v[v.length - 1] === 'string' ? (v[v.length - 1] as string) : undefined;
    if (name === undefined || name.trim() === '') throw bad(`class ${key}: expected a name or [id, name]`);
    names[k] = name.trim();
  }
  return names;
}

/** The classes of float graph `g`'s first output: axis 1 of its scores, before a trailing ArgMax
 * or Softmax (undefined when they have no class axis). */
export function scoresClasses(g: Graph): number | undefined {
  let scores = g.outputs[0];
  for (let p = g.nodes.find((n) => n.outputs.includes(scores)); p && (p.op === 'ArgMax' || p.op === 'Softmax'); p = g.nodes.find((n) => n.outputs.includes(scores))) scores = p.inputs[0];
  const shape = g.types.get(scores)!.shape;
  return shape.length >= 2 ? shape[1] : undefined;
}

/** MPCC0004 unless `names` (from `path`) has one name per class of an output of `classes` classes. */
export function checkClassCount(names: readonly string[], path: string, classes: number | undefined, output: string): void {
  if (classes === undefined) throw diag('MPCC0004', ['--classes', path, `output '${output}' has no class axis`]);
  if (names.length !== classes) throw diag('MPCC0004', ['--classes', path, `it holds ${names.length} class name(s) but output '${output}' has ${classes} classes`]);
}

/** " (tabby cat)" for class `c` of `names`, or "" without names (or beyond them). */
export function nameOf(names: readonly string[] | undefined, c: number): string {
  const n = names?.[c];
  return n === undefined ? '' : ` (${n})`;
}
