// OUT/manifest.json: what `mpcc compile` wrote and what every party checks before it runs:
// the artifact format, the mpcc version and the model's hash (all three go into the session
// tag, so parties holding artifacts of different versions or models refuse each other in
// the handshake), the fixed-point parameters, and the sha256 of every file.

import { createHash } from 'node:crypto';
import type { PostOp } from './program.js';

/** Version of the artifact layout; a runtime refuses other versions (MPCC5221). */
export const ARTIFACT_FORMAT = 1;

/** The manifest's content. */
export interface Manifest {
  format: number;
  mpccVersion: string;
  /** sha256 (hex) of the ONNX file compiled. */
  modelHash: string;
  frac: number;
  input: { name: string; shape: number[]; dtype: 'float32' };
  outputs: { name: string; shape: number[]; post: PostOp[] }[];
  rounds: number;
  oneTimeRounds: number;
  /** sha256 (hex) of every file, by path relative to OUT (party0/program.js, …). */
  files: Record<string, string>;
}

/** The files of one party's folder. */
export function partyFiles(party: 0 | 1 | 2): string[] {
  const base = [`party${party}/program.js`, `party${party}/kernels.wasm`];
  return party === 1 ? [...base, 'party1/weights.bin', 'party1/weights.json'] : base;
}

/** The session tag all three parties must share: format, version, model, and a digest of
 * every artifact's hash (the same model compiled with other options is another session). */
export function sessionTag(m: Manifest): string {
  const files = createHash('sha256').update(JSON.stringify(Object.entries(m.files).sort())).digest('hex').slice(0, 16);
  return `mpcc/${m.format}/${m.mpccVersion}/${m.modelHash.slice(0, 16)}/${files}`;
}
