// How a secure run's output agrees with a plaintext one (`mpcc run --expected Y.npy`): the
// largest absolute error and its share of the expected output's range, and the decision that
// matters: for scores [N, C] whether each row's top class agrees, for maps [N, C, H, W] the
// fraction of pixels whose class (the argmax over C) agrees. When the secure output is the
// classes themselves (`mpcc compile --reveal argmax`: [N, 1, H, W] or [N, 1]), they are rounded
// and compared with the argmax of the expected scores.
import { argmaxAt } from './eval-metrics.js';

/** The --json `agreement` object of `mpcc run`. */
export interface OutputAgreement {
  /** 'scores' when both are scores, 'classes' when the secure output is the classes. */
  readonly compared: 'scores' | 'classes';
  /** Largest |secure − expected| over the scores (absent for classes). */
  readonly maxAbsError?: number;
  /** The expected scores' max − min, and maxAbsError as a fraction of it. */
  readonly range?: number;
  readonly maxErrorOfRange?: number;
  /** Rows [N, C]: every row's top class agrees. */
  readonly top1Equal?: boolean;
  /** Maps [N, C, H, W] (or classes): the fraction of pixels whose class agrees. */
  readonly pixelAgreement?: number;
  /** Positions (rows or pixels) compared. */
  readonly positions: number;
}

/** The agreement of `secure` with `expected` (scores of shape `shape`, [N, C] or [N, C, H, W]),
 * or undefined when their sizes do not fit together. */
export function outputAgreement(secure: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[]): OutputAgreement | undefined {
  if (shape.length < 2) return undefined;
  const [n, c] = shape;
  const plane = shape.slice(2).reduce((a, b) => a * b, 1);
  const positions = n * plane;
  if (expected.length !== n * c * plane) return undefined;
  const classOf = (v: ArrayLike<number>, b: number, p: number): number => argmaxAt(v, b * c * plane, c, plane, p);
  let same = 0;
  if (secure.length === positions && c > 1) {
    for (let b = 0; b < n; b++) for (let p = 0; p < plane; p++) if (Math.round(secure[b * plane + p]) === classOf(expected, b, p)) same++;
    return { compared: 'classes', pixelAgreement: same / positions, ...(plane === 1 ? { top1Equal: same === positions } : {}), positions };
  }
  if (secure.length !== expected.length) return undefined;
  let maxAbsError = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    maxAbsError = Math.max(maxAbsError, Math.abs(secure[i] - expected[i]));
    lo = Math.min(lo, expected[i]);
    hi = Math.max(hi, expected[i]);
  }
  for (let b = 0; b < n; b++) for (let p = 0; p < plane; p++) if (classOf(secure, b, p) === classOf(expected, b, p)) same++;
  const range = hi - lo;
  return {
    compared: 'scores',
    maxAbsError,
    range,
    maxErrorOfRange: range > 0 ? maxAbsError / range : 0,
    ...(plane === 1 ? { top1Equal: same === positions } : { pixelAgreement: same / positions }),
    positions,
  };
}

/** One line for `mpcc run` without --json. */
export function describeAgreement(a: OutputAgreement): string {
  const parts: string[] = [];
  if (a.top1Equal !== undefined) parts.push(`top-1 ${a.top1Equal ? 'equal' : 'differs'}`);
  if (a.pixelAgreement !== undefined && a.top1Equal === undefined) parts.push(`pixel agreement ${(100 * a.pixelAgreement).toFixed(2)}% of ${a.positions}`);
  if (a.maxAbsError !== undefined) parts.push(`max error ${a.maxAbsError.toPrecision(3)} (${(100 * (a.maxErrorOfRange ?? 0)).toFixed(3)}% of the range)`);
  return `agreement with the expected output (${a.compared}): ${parts.join(', ')}`;
}
