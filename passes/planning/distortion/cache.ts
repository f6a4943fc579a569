// The distortion cache on disk: a measurement is keyed by everything it depends on (model
// sha256, calibration sha256, mode, samples, candidate blocks, the graph's layers), and written
// one file per layer as the layer completes, so a second `mpcc plan` with another budget reuses
// it and an interrupted run resumes at the first missing layer. Files are written atomically
// (temporary file, then rename). A file that does not parse or does not match its key is
// reported (MPCC4043, a warning naming it) and measured again. Default folder:
// $XDG_CACHE_HOME/mpcc/distortion, or ~/.cache/mpcc/distortion.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { diag } from '../../../runtime/diagnostics.js';
import type { ChannelBlock } from '../plan-file.js';

/** The cache file format tag and version. */
const CACHE_FORMAT = 'mpcc-distortion-cache';
const CACHE_VERSION = 1;

/** The default cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mpcc', 'distortion');
}

/** What a measurement depends on; its sha256 names the cache entry. */
export interface CacheKey {
  readonly modelSha256: string;
  readonly calibSha256: string;
  readonly mode: string;
  readonly samples: number;
  /** The graph's planned layers with their shapes and candidate blocks. */
  readonly layers: readonly { readonly name: string; readonly shape: readonly number[]; readonly candidates: readonly ChannelBlock[] }[];
  /** Anything else that changes the numbers (the passes, the context plan). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** One measurement's cache entry: per-layer files in a folder named by the key's hash. */
export class DistortionCache {
  readonly folder: string;
  private readonly key: string;

  /** `warn` receives a warning line (a corrupt file). */
  constructor(dir: string, key: CacheKey, private readonly warn: (line: string) => void) {
    this.key = createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, ...key })).digest('hex');
    this.folder = join(dir, this.key.slice(0, 32));
  }

  private file(index: number): string {
    return join(this.folder, `layer-${String(index).padStart(4, '0')}.json`);
  }

  /** The cached distortions of layer `index` (C × candidates), or undefined (missing, or corrupt: warned). */
  load(index: number, name: string, values: number): Float64Array | undefined {
    const file = this.file(index);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      if (json.format !== CACHE_FORMAT || json.version !== CACHE_VERSION) throw new Error('another format or version');
      if (json.key !== this.key || json.layer !== name) throw new Error('made for another measurement');
      const d = json.distortion;
      if (!Array.isArray(d) || d.length !== values || !d.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`expected ${values} finite distortions`);
      return Float64Array.from(d as number[]);
    } catch (e) {
      this.warn(diag('MPCC4043', [file, (e as Error).message]).format());
      rmSync(file, { force: true });
      return undefined;
    }
  }

  /** Stores layer `index`'s distortions (atomically). */
  store(index: number, name: string, distortion: Float64Array): void {
    const file = this.file(index);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      mkdirSync(this.folder, { recursive: true });
      writeFileSync(tmp, JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, key: this.key, layer: name, distortion: Array.from(distortion) }));
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw diag('MPCC0003', [file, (err as Error).message]);
    }
  }
}
