// Loading one party's artifacts from OUT/: the manifest, the party's files checked against
// their sha256, its program module, its kernels module (compiled and checked against the
// runtime's generic kernels, runtime/kernels/kernels-module.ts) and (P1) its weights. A party loads
// only its own folder.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runtimeError } from '../diagnostics.js';
import { compileKernels, type KernelsModule } from '../kernels/kernels-module.js';
import type { PartyId } from '../session/session.js';
import { ARTIFACT_FORMAT, partyFiles, type Manifest } from './manifest.js';
import { PROGRAM_FORMAT, type Program } from './program.js';

/** What a party needs to run. */
export interface PartyArtifacts {
  manifest: Manifest;
  program: Program;
  /** Its kernels.wasm, compiled: pass it to runProgram (RunOptions.kernels). */
  kernels: KernelsModule;
  /** P1: its encoded constants; others: empty. */
  weights: Map<string, BigUint64Array>;
}

/** Index of weights.bin: per key, offset and count of 64-bit elements. */
export type WeightsIndex = Record<string, { offset: number; length: number }>;

function read(dir: string, file: string): Buffer {
  try {
    return readFileSync(join(dir, file));
  } catch (e) {
    throw runtimeError('MPCC5220', [join(dir, file), `missing or unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
}

/** The sha256 of bytes, hex. */
export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The mpcc version of this runtime (package.json beside dist/). */
export function runtimeVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

/** Reads and checks OUT/manifest.json: its format, and that this mpcc compiled it. */
export function readManifest(dir: string): Manifest {
  const text = read(dir, 'manifest.json').toString('utf8');
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw runtimeError('MPCC5220', [join(dir, 'manifest.json'), `corrupt (${(e as Error).message})`]);
  }
  if (m.format !== ARTIFACT_FORMAT) throw runtimeError('MPCC5221', [`artifact format ${String(m.format)}, this runtime reads format ${ARTIFACT_FORMAT}`]);
  if (!m.files || !m.input || !Array.isArray(m.input.shape)) throw runtimeError('MPCC5220', [join(dir, 'manifest.json'), 'corrupt (fields missing)']);
  const own = runtimeVersion();
  if (m.mpccVersion !== own) throw runtimeError('MPCC5221', [`compiled by mpcc ${String(m.mpccVersion)}, this is mpcc ${own}; recompile the model`]);
  return m;
}

/** Loads party `id`'s artifacts from `dir`, checking every file's sha256. */
export async function loadPartyArtifacts(dir: string, id: PartyId): Promise<PartyArtifacts> {
  const manifest = readManifest(dir);
  const bytes = new Map<string, Buffer>();
  for (const f of partyFiles(id)) {
    const b = read(dir, f);
    const want = manifest.files[f];
    if (!want) throw runtimeError('MPCC5220', [join(dir, f), 'not listed in the manifest']);
    if (sha256(b) !== want) throw runtimeError('MPCC5220', [join(dir, f), 'corrupt (sha256 differs from the manifest)']);
    bytes.set(f, b);
  }
  const kernels = compileKernels(bytes.get(`party${id}/kernels.wasm`)!, join(dir, `party${id}/kernels.wasm`));
  const url = pathToFileURL(resolve(dir, `party${id}/program.js`)).href;
  const program = ((await import(url)) as { default: Program }).default;
  if (program.format !== PROGRAM_FORMAT || program.party !== id) throw runtimeError('MPCC5221', [`party${id}/program.js has format ${program.format} for party ${program.party}`]);
  const weights = new Map<string, BigUint64Array>();
  if (id === 1) {
    const index = JSON.parse(bytes.get('party1/weights.json')!.toString('utf8')) as WeightsIndex;
    const bin = bytes.get('party1/weights.bin')!;
    const all = new BigUint64Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    for (const [k, { offset, length }] of Object.entries(index)) {
      if (offset + length > all.length) throw runtimeError('MPCC5220', [join(dir, 'party1/weights.bin'), `too short for '${k}'`]);
      weights.set(k, all.subarray(offset, offset + length));
    }
  }
  return { manifest, program, kernels, weights };
}
