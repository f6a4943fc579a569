// Values of the fixed-point interpreter: ring vectors with their shape and scale.
import { decode } from '../../../runtime/ring/ring.js';
import { Tensor } from '../../tensor.js';

/** A value in Z_2^64: two's-complement fixed point with `frac` fractional bits, row-major. */
export interface RingValue {
  readonly data: BigUint64Array;
  readonly shape: readonly number[];
  /** Fractional bits: frac for activations, 2·frac between a product and its Truncate. */
  readonly frac: number;
}

/** The real numbers a ring value stands for, as a float64 tensor. */
export function decodeValue(v: RingValue): Tensor {
  return new Tensor('float64', v.shape, decode(v.data, v.frac));
}
