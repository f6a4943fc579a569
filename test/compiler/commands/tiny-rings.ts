// The fixture the smaller-ring suites share (narrow-ring.test.ts, copy-ring.test.ts): the zoo's
// tiny-cnn at FRAC fractional bits, SAMPLES calibration images, and readers of a compiled program.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { encodeNpy } from '../../../compiler/npy.js';
import type { Graph } from '../../../ir/graph.js';
import { runPipeline } from '../../../passes/index.js';
import type { Program, ProgramStep } from '../../../runtime/program/program.js';
import { rng } from '../../passes/util.js';

export const SAMPLES = 6;
export const FRAC = 16;
/** Elements of one tiny-cnn input (1×3×16×16). */
export const N = 3 * 16 * 16;

/** `SAMPLES` uniform images in [−scale, scale) (seed 11), written to `path` as an .npy file; returns them. */
export function calibration(path: string, scale: number): Float32Array[] {
  const rand = rng(11);
  const images = Array.from({ length: SAMPLES }, () => Float32Array.from({ length: N }, () => scale * (2 * rand() - 1)));
  const all = new Float32Array(SAMPLES * N);
  images.forEach((x, i) => all.set(x, i * N));
  writeFileSync(path, encodeNpy([SAMPLES, 3, 16, 16], all));
  return images;
}

/** P1's program.json of compiled folder `out`. */
export const programOf = (out: string): Program => JSON.parse(readFileSync(join(out, 'party1/program.json'), 'utf8')) as Program;

/** The steps of kind `kind` in P1's program of `out`. */
export const stepsOf = (out: string, kind: string): ProgramStep[] => programOf(out).steps.filter((s) => s.kind === kind);

/** The quantized graph lower takes for the tiny-cnn at `path` (MaxPool trees, FRAC bits). */
export const quantizedTiny = (path: string): Graph => runPipeline(loadGraphFile(path), `canonicalize,maxpool-to-relu-tree,quantize{frac-bits=${FRAC}}`).graph;
