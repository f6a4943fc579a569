// `--mode exact`, the seed paper's measure: for every planned ReLU layer, channel and candidate
// block, the mean squared error of the network's outputs against the unmodified network's over
// the calibration images when only that channel of that layer takes that block and every other
// ReLU stays a ReLU (channel-measure.ts runs it: cached cut activations, closed-form block-ReLU,
// only the suffix run, pairs × samples batched). [1, 1] is the ReLU itself: distortion 0,
// exactly, without a run. Layers are cached on disk as they complete (cache.ts); progress with
// an ETA goes to `log`. `estimateExactSeconds` times one batched run to predict the whole
// measurement (`--mode auto`).
import type { Graph } from '../../../ir/graph.js';
import type { DistortionLayer, DistortionTable } from '../distortion-table.js';
import type { ChannelBlock } from '../plan-file.js';
import type { DistortionCache } from './cache.js';
import { type CalibrationImages, type ChannelMeasureOptions, measureChannels, networkOutputs } from './channel-measure.js';
import { layerCut, networkWork, suffixOf } from './network-cut.js';
import { withBatchSize } from './rebatch.js';

/** A layer to measure: the DistortionTable layer without its distortions. */
export type LayerRequest = Omit<DistortionLayer, 'distortion'>;

/** Options of an exact measurement. */
export interface ExactOptions extends ChannelMeasureOptions {
  readonly modelSha256: string;
  readonly calibSha256: string;
  /** Where measured layers are kept (none: measure everything). */
  readonly cache?: DistortionCache;
  /** Progress lines (a bar with the ETA), at most about one a second. */
  readonly log?: (line: string) => void;
}

/** True for the plain ReLU's block, whose distortion is 0 by definition. */
function isRelu(b: ChannelBlock): boolean {
  return b !== 'identity' && b[0] === 1 && b[1] === 1;
}

/** The exact distortion table of `layers` of float graph `g` (see the file comment). */
export async function measureExactDistortion(g: Graph, calib: CalibrationImages, layers: readonly LayerRequest[], opts: ExactOptions): Promise<DistortionTable> {
  const log = opts.log ?? (() => undefined);
  const samples = calib.shape[0];
  const measured = layers.map((l, i) => opts.cache?.load(i, l.name, l.shape[1] * l.candidates.length));
  const work = layers.map((l, i) => (measured[i] ? 0 : l.shape[1] * l.candidates.filter((b) => !isRelu(b)).length * networkWork(g, layerCut(g, l.name).index + 1)));
  const totalWork = work.reduce((a, b) => a + b, 0);
  const cached = measured.filter(Boolean).length;
  if (cached) log(`exact: ${cached} of ${layers.length} layers from the cache${opts.cache ? ` (${opts.cache.folder})` : ''}`);
  const reference = totalWork > 0 ? await networkOutputs(g, calib, opts) : new Float32Array(0);
  const started = performance.now();
  let doneWork = 0;
  let lastLine = 0;
  const out: DistortionLayer[] = [];
  for (const [i, l] of layers.entries()) {
    let distortion = measured[i];
    if (!distortion) {
      const options = l.candidates.filter((b) => !isRelu(b));
      const perChannel = Array.from({ length: l.shape[1] }, () => options);
      const rows = await measureChannels(g, l.name, calib, reference, perChannel, {
        ...opts,
        onPairs: (done, total) => {
          const now = performance.now();
          if (now - lastLine < 1000 && done < total) return;
          lastLine = now;
          const fraction = (doneWork + (work[i] * done) / total) / totalWork;
          log(`exact: ${bar(fraction)} ${(100 * fraction).toFixed(1)}%  layer ${i + 1}/${layers.length} ${l.name}  ETA ${duration(((now - started) / 1000) * (1 / Math.max(fraction, 1e-9) - 1))}`);
        },
      });
      distortion = new Float64Array(l.shape[1] * l.candidates.length);
      for (let c = 0; c < l.shape[1]; c++) {
        let k = 0;
        l.candidates.forEach((b, j) => {
          distortion![c * l.candidates.length + j] = isRelu(b) ? 0 : rows[c][k++];
        });
      }
      opts.cache?.store(i, l.name, distortion);
      doneWork += work[i];
    }
    out.push({ ...l, distortion });
  }
  if (totalWork > 0) log(`exact: ${layers.length} layers measured in ${duration((performance.now() - started) / 1000)} (${samples} samples, ${opts.runner.name})`);
  return { mode: 'exact', modelSha256: opts.modelSha256, calibSha256: opts.calibSha256, samples, layers: out };
}

/** Predicted seconds of `measureExactDistortion` on `layers` without a cache: one batched run of
 * the first layer's suffix (a pair's samples: one channel under one block) is timed, and every
 * layer's pairs are scaled by their suffix's multiply-accumulates against the first's. */
export async function estimateExactSeconds(g: Graph, calib: CalibrationImages, layers: readonly LayerRequest[], opts: ChannelMeasureOptions): Promise<number> {
  if (layers.length === 0) return 0;
  const samples = calib.shape[0];
  const cut = layerCut(g, layers[0].name);
  const suffix = withBatchSize(suffixOf(g, cut), samples);
  const net = await opts.runner.prepare(suffix);
  let seconds: number;
  try {
    const inputs = suffix.inputs.map((name) => new Float32Array(suffix.types.get(name)!.shape.reduce((a, b) => a * b, 1)).fill(0.5));
    await net.run(inputs); // warm-up
    const t0 = performance.now();
    await net.run(inputs);
    seconds = (performance.now() - t0) / 1000;
  } finally {
    await net.dispose();
  }
  const work0 = Math.max(1, networkWork(g, cut.index + 1));
  return layers.reduce((total, l) => total + l.shape[1] * l.candidates.filter((b) => !isRelu(b)).length * seconds * (networkWork(g, layerCut(g, l.name).index + 1) / work0), 0);
}

/** A 20-character progress bar. */
function bar(fraction: number): string {
  const n = Math.max(0, Math.min(20, Math.round(20 * fraction)));
  return `[${'#'.repeat(n)}${'-'.repeat(20 - n)}]`;
}

/** Seconds as "1 h 02 min", "3 min 05 s" or "12.3 s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
