// The manifests `mpcc compile` writes and every party checks before it runs. OUT/manifest.json
// is the compiler's record for the server (the ONNX file's sha256 and every file's under OUT);
// each party's folder has its own partyN/manifest.json listing only that folder's files, so a
// folder copied alone is self-sufficient. The client's and helper's manifests hold public
// data only: the artifact format, mpcc version, fixed-point parameters, input and outputs, and
// the public architecture's digest (of the program, without the party number, and of the
// kernels module) — never a digest of the server's files — and how an image input is
// preprocessed when the compile's calibration images were (input.preprocessing: resize, crop,
// mean and std, public as a model card's; `mpcc run --input IMG` applies it by default) and the
// class names a compile was given (classes, for printing). The session tag is derived from
// that public digest, so parties holding different architectures or versions refuse each
// other in the handshake.

import { createHash } from 'node:crypto';
import type { PostOp, Program } from './program.js';

/** Version of the artifact layout; a runtime refuses other versions (MPCC5221). */
export const ARTIFACT_FORMAT = 2;

/** How the compile's calibration images were preprocessed (torchvision's Resize, CenterCrop and
 * Normalize; compiler/calibration/preprocess.ts), so a client's image input is by default. */
export interface InputPreprocessing {
  /** One number: the shorter side (aspect kept); [h, w]: exact. */
  resize?: number | [number, number];
  /** One number: a square; [h, w]. */
  crop?: number | [number, number];
  /** Per channel, or one for all. */
  mean?: number[];
  std?: number[];
}

/** What every manifest holds. */
export interface ManifestBase {
  format: number;
  mpccVersion: string;
  /** sha256 (hex) of the public architecture (architectureDigest). */
  architecture: string;
  frac: number;
  input: { name: string; shape: number[]; dtype: 'float32'; preprocessing?: InputPreprocessing };
  /** The first output's class names (`mpcc compile --classes`), class 0 first: public, for printing. */
  classes?: string[];
  outputs: { name: string; shape: number[]; post: PostOp[] }[];
  rounds: number;
  oneTimeRounds: number;
  /** sha256 (hex) of every file, by path relative to the manifest's folder. */
  files: Record<string, string>;
}

/** OUT/manifest.json (the server's record of the compilation). */
export interface Manifest extends ManifestBase {
  /** sha256 (hex) of the ONNX file compiled. */
  modelHash: string;
}

/** OUT/partyN/manifest.json. */
export interface PartyManifest extends ManifestBase {
  party: 0 | 1 | 2;
}

/** The files of one party's folder, relative to it (model.mir, P1's, is listed but not needed to run). */
export function partyFiles(party: 0 | 1 | 2): string[] {
  const base = ['program.json', 'kernels.wasm'];
  return party === 1 ? [...base, 'weights.bin', 'weights.json'] : base;
}

/** The digest of the public architecture: the program as data without its party number
 * (the three parties' programs are otherwise equal) and the kernels module's sha256. */
export function architectureDigest(program: Program, kernelsSha256: string): string {
  const { party: _party, ...rest } = program;
  return createHash('sha256').update(JSON.stringify(rest)).update('\n').update(kernelsSha256).digest('hex');
}

/** The session tag all three parties must share: format, version and the public
 * architecture's digest (the same model compiled with other options is another session). */
export function sessionTag(m: ManifestBase): string {
  return `mpcc/${m.format}/${m.mpccVersion}/${m.architecture.slice(0, 16)}/${m.architecture.slice(16, 32)}`;
}
