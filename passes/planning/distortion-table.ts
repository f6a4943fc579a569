// The distortion table: what every distortion measure (`--mode exact`, `--mode fast`) produces
// and the knapsack consumes. Per planned ReLU layer, its candidate blocks (the same list for
// every channel of the layer), each candidate's DReLU cost for one channel, and per channel and
// candidate the distortion: the mean squared error of the network's output (logits, or
// per-pixel scores) against the unmodified network over the calibration samples, when only that
// channel of that layer uses that candidate and every other ReLU is intact (or, for `--refine`,
// every other channel follows the context plan the table was measured in).
import type { ChannelBlock } from './plan-file.js';

/** A table of measured (or estimated) distortions, one entry per planned layer. */
export interface DistortionTable {
  readonly mode: 'exact' | 'fast';
  /** sha256 of the model file and of the calibration data the table was measured on. */
  readonly modelSha256: string;
  readonly calibSha256: string;
  /** Calibration samples used. */
  readonly samples: number;
  readonly layers: readonly DistortionLayer[];
}

/** One planned ReLU layer of a distortion table. */
export interface DistortionLayer {
  /** The Relu node's name in the canonicalized graph (a plan layer's name). */
  readonly name: string;
  /** Its activation's shape [N, C, H, W] (N as the model declares it, usually 1). */
  readonly shape: readonly [number, number, number, number];
  /** The candidate blocks of every channel of this layer ([1, 1] is the plain ReLU). */
  readonly candidates: readonly ChannelBlock[];
  /** DReLUs of one channel (one image) under each candidate: ceil(H/bh)·ceil(W/bw), identity 0. */
  readonly costs: readonly number[];
  /** C × candidates.length, row-major: distortion[c * candidates.length + j]. */
  readonly distortion: Float64Array;
}

/** The distortion of channel `c` under candidate `j` of `layer`. */
export function distortionOf(layer: DistortionLayer, c: number, j: number): number {
  return layer.distortion[c * layer.candidates.length + j];
}
