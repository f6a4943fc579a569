// What `mpcc eval` reports (compiler/commands/eval.ts, compiler/commands/eval-secure.ts): the
// --json object and the text.
import type { EvalRunner } from './eval-runner.js';

/** What `mpcc eval --json` prints; null where the measure does not apply to the model. */
export interface EvalReport {
  readonly top1: number | null;
  readonly top5: number | null;
  readonly miou: number | null;
  readonly pixelAcc: number | null;
  /** A segmenter's IoU per class (index = class; null for a class in neither the labels nor the
   * predictions, which the mean leaves out); null for a classifier. */
  readonly iou: (number | null)[] | null;
  /** Images evaluated. */
  readonly n: number;
  /** With --sample: the images in the set, n of them evaluated (spread evenly through it). */
  readonly of?: number;
  /** With --reduce-zero-label: the labels were ADE20K's (0 counted nowhere, k measured as class k − 1). */
  readonly reduceZeroLabel?: true;
  /** Secure comparisons per image of the network as run (planned, if --plan). */
  readonly drelus: number | null;
  /** Secure comparisons per image with every ReLU a plain ReLU. */
  readonly baselineDrelus: number | null;
  /** With --reconstruct: the calibration images the refit used and its per-layer errors. */
  readonly refit?: {
    readonly calibration: { readonly path: string; readonly samples: number; readonly sha256: string };
    readonly ridge: number | 'auto';
    readonly layers: readonly { readonly name: string; readonly relErrBefore: number; readonly relErrAfter: number }[];
    /** Coded warnings of the refit (too few samples for a layer). */
    readonly warnings: readonly string[];
  };
  /** What ran the network: onnxruntime (float), the interpreter (float, or --fixed), or the
   * secure protocol (a compiled program, OUT). */
  readonly runner: EvalRunner | 'secure';
  /** With --fixed: the fixed-point simulation's fractional bits (the interpreter ran it). */
  readonly fixed?: number;
  /** A compiled program's evaluation: OUT, its inferences (N images each), their mean online and
   * offline seconds and bytes per inference, the one-time setup's bytes (once for all), and the
   * program's public architecture digest (OUT/manifest.json's). */
  readonly secure?: {
    readonly out: string;
    /** As the client of a deployment (--peers): its parties' addresses; the seconds and bytes are
     * then the client's own. */
    readonly peers?: string;
    readonly inferences: number;
    readonly online: { readonly seconds: number; readonly bytes: number; readonly rounds: number };
    readonly offline: { readonly seconds: number; readonly bytes: number };
    readonly oneTimeBytes: number;
    readonly architecture: string;
  };
  /** The model file measured (sha256 of its bytes: OUT/manifest.json's modelHash of a compile of
   * it); null for a client's own folder (party0/, which does not record it). */
  readonly model: { readonly sha256: string | null };
  /** The plan applied (--plan): its file's sha256 and its source's method (uniform, knapsack, …); null without one. */
  readonly plan: { readonly sha256: string; readonly method: string | null } | null;
}

/** The text `mpcc eval` prints: the measures, the DReLUs, a refit's and a secure run's figures;
 * `options` says how the network ran (--fixed, --plan). */
export function formatEvalReport(r: EvalReport, options: { readonly fixed?: boolean; readonly plan?: string }, seconds: number): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);
  const num = (v: number | null) => (v === null ? '—' : v.toLocaleString('en-US'));
  const how = r.secure
    ? `secure inference of ${r.secure.out}${r.secure.peers ? ` as the client of the deployment at ${r.secure.peers}` : ''}, ${r.secure.inferences} inference${r.secure.inferences > 1 ? 's' : ''}`
    : options.fixed ? 'fixed point' : `float, ${r.runner}`;
  const lines = [`images: ${r.n}${r.of !== undefined ? ` of ${r.of}` : ''} (${r.of !== undefined ? '--sample; ' : ''}${how}${options.plan ? `, plan ${options.plan}` : ''}), ${seconds.toFixed(2)} s`];
  if (r.top1 !== null) lines.push(`top-1: ${pct(r.top1)}`, `top-5: ${pct(r.top5)}`);
  if (r.miou !== null) lines.push(`mean IoU: ${pct(r.miou)}`, `pixel accuracy: ${pct(r.pixelAcc)}`);
  if (r.reduceZeroLabel) lines.push('labels: --reduce-zero-label (0 counted nowhere, label k as class k − 1)');
  // per class, ten to a line; a class in neither the labels nor the predictions is "—"
  if (r.iou) for (let k = 0; k < r.iou.length; k += 10) lines.push(`${k ? '  ' : 'IoU per class: '}${r.iou.slice(k, k + 10).map((v, j) => `${k + j} ${pct(v)}`).join(', ')}`);
  const share = r.drelus !== null && r.baselineDrelus ? ` (${(100 * r.drelus / r.baselineDrelus).toFixed(1)}% of ${num(r.baselineDrelus)})` : '';
  lines.push(`DReLUs per image: ${num(r.drelus)}${share}`);
  if (r.secure) {
    const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
    const s = r.secure;
    lines.push(`per inference${s.peers ? ', the client\'s own' : ''}: online ${s.online.seconds.toFixed(3)} s, ${mb(s.online.bytes)}, ${s.online.rounds} rounds; offline ${s.offline.seconds.toFixed(3)} s, ${mb(s.offline.bytes)}; one-time setup ${mb(s.oneTimeBytes)} once`);
  }
  if (r.refit) {
    const c = r.refit.calibration;
    lines.push(`refit: ${r.refit.layers.length} layers on ${c.samples} calibration images from ${c.path} (float32 sha256 ${c.sha256.slice(0, 16)}…), ridge ${r.refit.ridge}; none of them among the evaluated images`);
    for (const l of r.refit.layers) lines.push(`  ${l.name}: output error ${pct(l.relErrBefore)} -> ${pct(l.relErrAfter)}`);
    // the warnings themselves went to stderr as the refit made them (and are in --json's refit.warnings)
    if (r.refit.warnings.length > 0) lines.push(`  (${r.refit.warnings.length} refit warning${r.refit.warnings.length === 1 ? '' : 's'} on stderr)`);
  }
  return `${lines.join('\n')}\n`;
}

/** The measures of a report from its metrics' result: top-1/top-5 or mean IoU, pixel accuracy and
 * IoU per class (null where they do not apply; `noTop5`: a program revealing class indices), the
 * images measured, `of` the set's size under --sample, and --reduce-zero-label's record. */
export function measuredFields(
  measured: { readonly n: number } & Partial<Record<'top1' | 'miou' | 'pixelAcc', number> & { top5: number | null; iou: (number | null)[] }>,
  extra: { readonly of?: number; readonly reduceZeroLabel?: boolean; readonly noTop5?: boolean },
): Pick<EvalReport, 'top1' | 'top5' | 'miou' | 'pixelAcc' | 'iou' | 'n' | 'of' | 'reduceZeroLabel'> {
  return {
    top1: measured.top1 ?? null,
    top5: extra.noTop5 ? null : measured.top5 ?? null,
    miou: measured.miou ?? null,
    pixelAcc: measured.pixelAcc ?? null,
    iou: measured.iou ?? null,
    n: measured.n,
    ...(extra.of !== undefined ? { of: extra.of } : {}),
    ...(extra.reduceZeroLabel ? { reduceZeroLabel: true as const } : {}),
  };
}
