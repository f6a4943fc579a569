// The exact byte split of one inference for `npm run bench -- e2e`, from a compiled model's
// cost.json (passes/secure/cost-model.ts: per secure op, the bytes of its flows by kind):
// comparisons and selections of the ReLUs and block-ReLUs, products (convs and matmuls,
// one-time excluded), MaxPool (its comparisons and selections in its own column), other
// (reveals, Beaver products). The columns add up to the total; splitBytes checks it, and
// that every layer's kinds add up to its own bytes, and throws otherwise.
import type { BytesByKind, CostReport } from '../passes/secure/cost-model.js';

/** Bytes per inference (online + preprocessing, all parties) by column. */
export interface ByteSplit {
  comparisons: number;
  selections: number;
  products: number;
  maxPool: number;
  other: number;
}

/** The split of `cost` (a cost.json, read from `file`); throws when a sum does not hold. */
export function splitBytes(cost: CostReport, file: string): ByteSplit {
  const split: ByteSplit = { comparisons: 0, selections: 0, products: 0, maxPool: 0, other: 0 };
  const sum = (k: BytesByKind) => k.comparisons + k.selections + k.products + k.other;
  for (const l of cost.layers) {
    const own = l.bytes.online + l.bytes.preprocessing;
    if (sum(l.bytesByKind) !== own) throw new Error(`${file}: layer ${l.name} (${l.op}): bytes by kind add up to ${sum(l.bytesByKind)}, its bytes are ${own}`);
    if (isMaxPoolLayer(l)) {
      split.maxPool += own;
      continue;
    }
    split.comparisons += l.bytesByKind.comparisons;
    split.selections += l.bytesByKind.selections;
    split.products += l.bytesByKind.products;
    split.other += l.bytesByKind.other;
  }
  const total = split.comparisons + split.selections + split.products + split.maxPool + split.other;
  if (total !== cost.bytes.total) throw new Error(`${file}: the byte columns add up to ${total}, the total is ${cost.bytes.total}`);
  if (sum(cost.bytesByKind) !== cost.bytes.total) throw new Error(`${file}: bytesByKind adds up to ${sum(cost.bytesByKind)}, the total is ${cost.bytes.total}`);
  return split;
}

/** A MaxPool's layer: the SecureMaxPool step, or a level of its ReLU trees
 * (maxpool-to-relu-tree names them POOL.w1.0.relu, POOL.h2.0.relu, …). */
export function isMaxPoolLayer(l: { op: string; name: string }): boolean {
  return l.op === 'SecureMaxPool' || /\.[wh]\d+\.\d+\.relu$/.test(l.name);
}

/** A model variant of the bench: NAME[+avgpool|+maxtree][@BHxBW|@kR][~auto][+co]. */
export interface Variant {
  /** The zoo model. */
  name: string;
  /** --passes of plan, compile and the reference (null: the default). */
  passes: string | null;
  /** The --uniform block of `mpcc plan`, or null. */
  block: string | null;
  /** The knapsack budget of `mpcc plan --budget R --mode fast` on the bench's calibration samples, or null. */
  budget: number | null;
  /** Comparison windows: 'auto' (`--compare-bits auto` from the calibration samples) or null (64 bits). */
  windows: 'auto' | null;
  /** +co: compiled with --client-offline (P0's shares computed offline, the helper selects). */
  clientOffline: boolean;
  /** %BITS or %auto after +co: `--ring` of the compile (a ring of 32, 40, 48, 56 or 64 bits, or
   * auto from the calibration samples); null: the compile's default. */
  ring: string | null;
  /** The variant without its plan and windows: the all-ReLU baseline of a planned row. */
  baseline: string;
}

/** Whether the variant has a plan (uniform or knapsack). */
export function planned(v: Variant): boolean {
  return v.block !== null || v.budget !== null;
}

/** Parses NAME[+avgpool|+maxtree][@BHxBW|@kR][~auto][+co] (+maxtree: maxpool-to-relu-tree, the MaxPool's
 * comparisons planned as ReLU layers; @kR: a knapsack plan keeping the fraction R of the DReLUs;
 * ~auto: per-layer comparison windows from calibration statistics; +co: the client-offline mode). */
export function parseVariant(text: string): Variant {
  const m = /^([^+@~%]+)(\+avgpool|\+maxtree)?(?:@(k(?:0?\.\d+|1)|\d+x\d+))?(~auto)?(\+co)?(?:%(32|40|48|56|64|auto))?$/.exec(text);
  if (!m) throw new Error(`e2e: model variant '${text}': expected NAME[+avgpool|+maxtree][@BHxBW|@kR][~auto][+co[%BITS|%auto]], e.g. resnet50+maxtree@k0.06~auto+co%40`);
  if (m[6] && !m[5]) throw new Error(`e2e: model variant '${text}': a ring (%${m[6]}) needs +co (only the client-offline mode takes a ring below 64 bits)`);
  const passes = m[2] === '+avgpool' ? 'canonicalize,maxpool-to-avgpool' : m[2] === '+maxtree' ? 'canonicalize,maxpool-to-relu-tree' : null;
  const plan = m[3] ?? null;
  const budget = plan?.startsWith('k') ? Number(plan.slice(1)) : null;
  return { name: m[1], passes, block: plan && budget === null ? plan : null, budget, windows: m[4] ? 'auto' : null, clientOffline: m[5] !== undefined, ring: m[6] ?? null, baseline: m[1] + (m[2] ?? '') };
}
