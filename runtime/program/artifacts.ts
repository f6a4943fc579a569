// Loading one party's artifacts from its own folder (OUT/partyN, or a copy of it anywhere):
// its manifest, its files checked against their sha256, its program (program.json: data,
// parsed and validated by validate.ts before anything runs — nothing under OUT is ever
// imported or evaluated), its kernels module (compiled and checked against the runtime's
// generic kernels, runtime/kernels/kernels-module.ts: it imports nothing but memory) and (P1)
// its weights. A party reads nothing outside its folder; given OUT itself, it reads only
// OUT/partyN.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag, runtimeError } from '../diagnostics.js';
import { compileKernels, type KernelsModule } from '../kernels/kernels-module.js';
import type { PartyId } from '../session/session.js';
import { ARTIFACT_FORMAT, architectureDigest, partyFiles, type Manifest, type ManifestBase, type PartyManifest } from './manifest.js';
import type { Program } from './program.js';
import { parseProgram } from './validate.js';

/** What a party needs to run. */
export interface PartyArtifacts {
  manifest: PartyManifest;
  program: Program;
  /** Its kernels.wasm, compiled: pass it to runProgram (RunOptions.kernels). */
  kernels: KernelsModule;
  /** P1: its encoded constants; others: empty. */
  weights: Map<string, BigUint64Array>;
}

/** Index of weights.bin: per key, offset and count of 64-bit elements. */
export type WeightsIndex = Record<string, { offset: number; length: number }>;

/** Bytes of a manifest or weights index read at most (a bigger one is refused unread). */
const MAX_JSON_BYTES = 16 << 20;

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

/** Reads and checks `dir`/manifest.json: JSON, its format, that this mpcc compiled it, and
 * the fields a party uses. */
function readAnyManifest<M extends ManifestBase>(dir: string): M {
  const file = join(dir, 'manifest.json');
  // not a folder at all: a model file given for OUT, or a typo
  const at = statSync(dir, { throwIfNoEntry: false });
  if (!at) throw runtimeError('MPCC5220', [dir, 'no such folder: give the folder mpcc compile -o wrote (OUT, or a party\'s folder)']);
  if (!at.isDirectory()) throw runtimeError('MPCC5220', [dir, `a file, not a folder mpcc compile wrote${/\.(onnx|mir)$/i.test(dir) ? `: it is a model, compile it first (mpcc compile ${dir} -o OUT) and give OUT` : ''}`]);
  const bytes = read(dir, 'manifest.json');
  if (bytes.length > MAX_JSON_BYTES) throw runtimeError('MPCC5220', [file, `${bytes.length} bytes: too big for a manifest`]);
  let m: M;
  try {
    m = JSON.parse(bytes.toString('utf8')) as M;
  } catch (e) {
    throw runtimeError('MPCC5220', [file, `corrupt (${(e as Error).message})`]);
  }
  if (typeof m !== 'object' || m === null) throw runtimeError('MPCC5220', [file, 'corrupt (not an object)']);
  if (m.format !== ARTIFACT_FORMAT) throw runtimeError('MPCC5221', [`${file}: artifact format ${String(m.format)}, this runtime reads format ${ARTIFACT_FORMAT}`]);
  const own = runtimeVersion();
  if (m.mpccVersion !== own) throw runtimeError('MPCC5221', [`${file}: compiled by mpcc ${String(m.mpccVersion)}, this is mpcc ${own}; recompile the model`]);
  const fields = typeof m.files === 'object' && m.files !== null && typeof m.architecture === 'string' && /^[0-9a-f]{64}$/.test(m.architecture) && typeof m.input === 'object' && m.input !== null && Array.isArray(m.input.shape) && m.input.shape.every((d) => Number.isInteger(d) && d >= 0) && Array.isArray(m.outputs) && Number.isInteger(m.frac);
  if (!fields) throw runtimeError('MPCC5220', [file, 'corrupt (fields missing or of the wrong type)']);
  if (m.input.preprocessing !== undefined && !validPreprocessing(m.input.preprocessing)) throw runtimeError('MPCC5220', [file, 'corrupt (input.preprocessing is not {resize, crop, mean, std})']);
  if (m.classes !== undefined && !(Array.isArray(m.classes) && m.classes.length > 0 && m.classes.every((c) => typeof c === 'string' && c.length > 0))) throw runtimeError('MPCC5220', [file, 'corrupt (classes is not a list of names)']);
  return m;
}

/** True for an InputPreprocessing: sizes positive integers (or [h, w] of them), mean and std
 * finite numbers (std positive), no other key. */
function validPreprocessing(p: unknown): boolean {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const side = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const size = (v: unknown) => v === undefined || side(v) || (Array.isArray(v) && v.length === 2 && v.every(side));
  const values = (v: unknown, positive: boolean) => v === undefined || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0)));
  const r = p as Record<string, unknown>;
  return Object.keys(r).every((k) => ['resize', 'crop', 'mean', 'std'].includes(k)) && size(r.resize) && size(r.crop) && values(r.mean, false) && values(r.std, true);
}

/** Reads and checks OUT/manifest.json (the compiler's record; `mpcc run` reads it). */
export function readManifest(dir: string): Manifest {
  return readAnyManifest<Manifest>(dir);
}

/** The folder of party `id` given OUT or the party's own folder: OUT/partyN when `dir` holds
 * one, else `dir` itself. */
export function partyFolder(dir: string, id: PartyId): string {
  const sub = join(dir, `party${id}`);
  return existsSync(join(sub, 'manifest.json')) ? sub : dir;
}

/** Loads party `id`'s artifacts from its folder (`dir` is OUT or the folder itself), checking
 * every file's sha256, the program's schema and the public architecture's digest, before any
 * connection. */
export async function loadPartyArtifacts(dir: string, id: PartyId): Promise<PartyArtifacts> {
  const folder = partyFolder(dir, id);
  const manifest = readAnyManifest<PartyManifest>(folder);
  // the usual cause is the --id given, not the folder's build: say both ways out
  if (typeof manifest.party !== 'number') throw runtimeError('MPCC5220', [join(folder, 'manifest.json'), `no party's manifest: ${folder} holds no party${id} folder and is not one`]);
  if (manifest.party !== id) throw diag('MPCC0004', ['--id', id, `${folder} holds party ${String(manifest.party)}'s program (${join(folder, 'manifest.json')}): give --id ${String(manifest.party)}, or party ${id}'s folder (OUT/party${id})`]);
  const bytes = new Map<string, Buffer>();
  for (const f of partyFiles(id)) {
    const want = manifest.files[f];
    if (typeof want !== 'string') throw runtimeError('MPCC5220', [join(folder, f), 'not listed in the manifest']);
    const b = read(folder, f);
    if (sha256(b) !== want) throw runtimeError('MPCC5220', [join(folder, f), 'corrupt (sha256 differs from the manifest)']);
    bytes.set(f, b);
  }
  const program = parseProgram(bytes.get('program.json')!.toString('utf8'), join(folder, 'program.json'), id);
  const kernelsBytes = bytes.get('kernels.wasm')!;
  const digest = architectureDigest(program, sha256(kernelsBytes));
  if (digest !== manifest.architecture) throw runtimeError('MPCC5223', [join(folder, 'manifest.json'), manifest.architecture, digest]);
  const kernels = compileKernels(kernelsBytes, join(folder, 'kernels.wasm'));
  const weights = new Map<string, BigUint64Array>();
  if (id === 1) {
    const indexFile = join(folder, 'weights.json');
    let index: WeightsIndex;
    try {
      index = JSON.parse(bytes.get('weights.json')!.toString('utf8')) as WeightsIndex;
    } catch (e) {
      throw runtimeError('MPCC5220', [indexFile, `corrupt (${(e as Error).message})`]);
    }
    const bin = bytes.get('weights.bin')!;
    if (bin.byteLength % 8 !== 0) throw runtimeError('MPCC5220', [join(folder, 'weights.bin'), `${bin.byteLength} bytes, not a whole number of 64-bit elements`]);
    const all = new BigUint64Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    for (const [k, e] of Object.entries(index)) {
      const { offset, length } = e ?? {};
      if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > all.length) throw runtimeError('MPCC5220', [join(folder, 'weights.bin'), `too short for '${k}'`]);
      weights.set(k, all.subarray(offset, offset + length));
    }
  }
  return { manifest, program, kernels, weights };
}
