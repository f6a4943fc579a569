// Global average pooling on ring vectors: the whole H×W plane as one window of runtime
// avgPool (a power-of-two plane truncates by its log; another size multiplies by
// round(2^b/(H·W)) and truncates by b, b = divideBits or 16; ±1 ulp from the share truncation).
import { avgPool } from '../protocols/linear.js';
import type { Session } from '../session/session.js';

/** A GlobalAveragePool over an NCHW input. */
export interface GlobalPoolParams {
  inShape: readonly [number, number, number, number];
  /** Leave the division's truncation to the step after (avgPool's `untruncated`). */
  untruncated?: boolean;
  /** A plane size that is not a power of two: the reciprocal's bits (avgPool's `divideBits`). */
  divideBits?: number;
}

/** Mean of every channel plane, shape [N, C, 1, 1]. */
export function globalAveragePool(s: Session, x: BigUint64Array, p: GlobalPoolParams): BigUint64Array {
  const [, , h, w] = p.inShape;
  return avgPool(s, x, { inShape: p.inShape, kernel: [h, w], strides: [1, 1], pads: [0, 0, 0, 0] }, false, p.untruncated ?? false, p.divideBits);
}
