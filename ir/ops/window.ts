// The bit window of a secure comparison, declared once: bits [window_lo, window_lo + window_k)
// of the fixed-point value decide the sign (set by narrow-compare; the defaults are the full
// 64-bit ring). Relu, Clip, BlockRelu and MaxPool carry it before lowering, the secure comparison ops after; float
// semantics ignore it.
import type { Node } from '../graph.js';
import { type AttrSpec, type ShapeContext, ShapeError, withDefaults } from './registry.js';

/** The window attributes. A window of k ≥ 2 bits inside 64 starts at bit 62 at most. */
export const WINDOW_ATTRS = {
  window_lo: { kind: 'int', default: 0, range: [0, 62], doc: 'low bits dropped before the comparison' },
  window_k: { kind: 'int', default: 64, range: [2, 64], doc: "bits compared (two's complement sign at bit k-1)" },
  window_ring: { kind: 'int', default: 0, range: [0, 64], doc: "0: the program's ring; else the smaller ring Z_2^window_ring a client-offline selection with no truncation folded in runs in (set by --ring auto where calibration shows its values fit; lower lifts what leaves it: SecureLift)" },
  copy_ring: { kind: 'int', default: 0, range: [0, 64], doc: "0: the program's ring; else the smaller ring Z_2^copy_ring (24 or 32) a client-offline selection's masked copies travel to the helper in, lifted back by their top bit (set by --ring auto where calibration shows the selected values fit; runtime/protocols/copy-ring.ts)" },
} as const satisfies Readonly<Record<string, AttrSpec>>;

/** A comparison's bit window. */
export interface BitWindow {
  readonly lo: number;
  readonly k: number;
}

/** The window `node` asks for (the full ring when its op declares none). */
export function windowOf(node: Node): BitWindow {
  const a = withDefaults(node);
  return {
    lo: (a.window_lo as number | undefined) ?? WINDOW_ATTRS.window_lo.default,
    k: (a.window_k as number | undefined) ?? WINDOW_ATTRS.window_k.default,
  };
}

/** Throws ShapeError (the verifier adds the node) when the window does not fit in 64 bits. */
export function checkWindow({ attr }: ShapeContext): void {
  const lo = attr<number>('window_lo'), k = attr<number>('window_k');
  if (lo + k > 64) throw new ShapeError(`bit window [${lo}, ${lo + k}) does not fit in 64 bits`);
}
