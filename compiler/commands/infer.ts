// `mpcc infer MODEL --input X.npy [-o Y.npy]`: runs the plaintext interpreter on one input (an
// .npy, or a PNG/JPEG image preprocessed by the image flags as `mpcc run --input IMG` does).
// Without -o it prints each output's type and, for a [1, C] output, the top-5 classes; else a
// summary (min, mean, max, and per-pixel class counts for a [1, C, H, W] segmentation map).
// With --fixed it runs the fixed-point interpreter (the secure computation's arithmetic in the
// clear) on the model driven to the quantized stage (compiler/driver.ts: canonicalize,quantize
// by default, nothing for an already quantized .mir). Without --fixed it runs the model as
// loaded (what onnxruntime computes) unless --passes names float-level passes to run first.
// With --plan, the planned network (block-ReLUs; the plan's windows too with --fixed).
import type { Command } from 'commander';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, checkOutputPath, commandProgress, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { driveModel, modelFrac } from '../driver.js';
import { isBefore } from '../../ir/stage.js';
import { encodeNpy, readNpy } from '../npy.js';
import { MpccError, diag } from '../../runtime/diagnostics.js';
import { imageKind } from '../calibration/images.js';
import { imageFlagsFrom, refuseImageFlags, withImageFlags } from './calib-flags.js';
import { fitsInput, imageInput } from './secure-support.js';
import { Tensor } from '../../ir/tensor.js';
import { formatType } from '../../ir/types.js';
import { runGraph, type Precision } from '../../ir/interp/index.js';
import { type FixedRunResult, runGraphFixed } from '../../ir/interp/fixed/index.js';
import { layerReport } from './infer-layers.js';
import { checkInputValues } from '../../passes/quantize/value-range.js';
import type { Graph } from '../../ir/graph.js';
import { outputOption, parseFracBits, parseInputShape, planOption, withModelFlags, withProgressFlags } from './flags.js';
import { checkClassCount, nameOf, readClassNames, scoresClasses } from '../class-names.js';
import { argmaxAt } from '../eval-metrics.js';

/** Options of the infer command. */
export interface InferOptions extends ProgressFlags {
  /** The .npy input (float32 or float64, C order). */
  readonly input: string;
  /** Where to write the first output as .npy. */
  readonly output?: string;
  /** Replaces symbolic input dimensions, e.g. "1,3,224,224". */
  readonly inputShape?: string;
  /** Interpreter precision (default float32, like onnxruntime). */
  readonly precision?: string;
  /** Run in fixed point (Z_2^64) as the secure computation does. */
  readonly fixed?: boolean;
  /** Fractional bits of --fixed (4..28; default: chosen from the model by the driver). */
  readonly fracBits?: string | number;
  /** With --fixed: append a per-layer table of fixed-point vs float differences. */
  readonly layers?: boolean;
  /** Class names to print with the top classes (compiler/class-names.ts). */
  readonly classes?: string;
  /** Passes to run first (compiler/driver.ts); default canonicalize with --fixed, none without. */
  readonly passes?: string;
  /** A block-ReLU plan (mpcc plan, or OUT/plan.json with its windows): the planned network, as
   * `mpcc eval --plan` runs it (with --fixed: as the secure run computes it). */
  readonly plan?: string;
}

/** What a run produced. */
export interface InferResult {
  /** Graph outputs by name, in graph order. */
  readonly outputs: Map<string, Tensor>;
  /** The text the command prints. */
  readonly report: string;
}

/** Runs `model` on the input of `options`; writes the output file last, only on success.
 * Progress lines go to `sink` (none by default). */
export function runInfer(model: string, options: InferOptions, sink: ProgressSink = NO_PROGRESS): InferResult {
  const precision = options.precision ?? 'float32';
  if (precision !== 'float32' && precision !== 'float64') throw diag('MPCC0004', ['--precision', precision, 'expected float32 or float64']);
  if (options.layers && !options.fixed) throw diag('MPCC0004', ['--layers', '', 'needs --fixed']);
  const fracBits = parseFracBits(options.fracBits);
  const inputShape = parseInputShape(options.inputShape);
  // where the output goes, before the run (not over the model, the input or the plan)
  if (options.output !== undefined) checkOutputPath(options.output, false, [model, options.input, ...(options.plan === undefined ? [] : [options.plan])]);
  const image = imageKind(options.input) !== undefined;
  const flags = imageFlagsFrom(options as InferOptions & Record<string, unknown>);
  if (!image) refuseImageFlags(flags, options.input);
  const npy = image ? undefined : readNpy(options.input);
  const names = options.classes === undefined ? undefined : readClassNames(options.classes);
  // --fixed needs the quantized stage; a float run keeps the model as it is unless --passes says.
  const drive = (shape: number[] | undefined) =>
    driveModel(model, {
      passes: options.passes,
      // a plan is applied to the network it was made on (its passes, canonicalize by default)
      defaultPasses: options.fixed || options.plan !== undefined ? undefined : '',
      planFile: options.plan,
      target: options.fixed ? 'quantized' : 'float',
      fracBits,
      inputShape: shape,
      log: commandProgress(options, sink),
    });
  let driven;
  try {
    driven = drive(inputShape);
  } catch (err) {
    // an image is one image: a symbolic batch (torch.onnx dynamic axes) is 1
    if (!(image && inputShape === undefined && err instanceof MpccError && err.code === 'MPCC1004')) throw err;
    driven = drive([1, -1, -1, -1]);
  }
  const { graph: g, plan } = driven;
  // The interpreters know float and quantized ops, not the Secure* protocol ops of lower.
  const secure = isBefore('quantized', plan.to) ? g.nodes.find((n) => n.op.startsWith('Secure')) : undefined;
  if (secure) throw diag('MPCC3004', [secure.name, secure.op, `the model is already ${plan.to}; infer runs float or quantized models`]);
  if (g.inputs.length !== 1) throw diag('MPCC3004', ['<inputs>', '-', `the model has ${g.inputs.length} runtime inputs; infer takes exactly one`]);
  const name = g.inputs[0];
  const want = g.types.get(name)!;
  if (want.dtype !== 'float32' && want.dtype !== 'float64') throw diag('MPCC3004', ['<inputs>', '-', `input '${name}' is ${want.dtype}; infer feeds float32`]);
  const given = npy ?? { shape: want.shape, data: imageInput(options.input, want.shape, flags) };
  if (!fitsInput(given.shape, want.shape)) throw diag('MPCC3002', [name, given.shape.join(','), want.shape.join(','), options.input]);
  const x = { shape: want.shape, data: given.data };
  // float infer refuses NaN and ±Inf; the fixed-point run also what would wrap in the ring
  checkInputValues(options.input, x.shape, x.data, options.fixed ? modelFrac(g)! : undefined);
  const input = new Tensor('float32', x.shape, x.data);
  const fixed = options.fixed ? runFixed(g, name, input, Boolean(options.layers)) : undefined;
  const outputs = fixed
    ? fixed.outputs
    : new Map(g.outputs.map((o) => [o, runGraph(g, { [name]: input }, { precision: precision as Precision }).get(o)!]));
  if (options.output) {
    const first = outputs.get(g.outputs[0])!;
    writeFileAtomic(options.output, encodeNpy(first.shape, first.data));
  }
  const layers = fixed && options.layers ? layerReport(g, { [name]: input }, fixed) : '';
  if (names && options.classes) checkClassCount(names, options.classes, scoresClasses(g), g.outputs[0]);
  return { outputs, report: (options.output ? '' : describeOutputs(outputs, names)) + layers };
}

/** The fixed-point interpreter's run of quantized `q`, keeping every value when asked. */
function runFixed(q: Graph, inputName: string, input: Tensor, keepAll: boolean): FixedRunResult {
  return runGraphFixed(q, { [inputName]: input }, { frac: modelFrac(q)!, keep: keepAll ? 'all' : 'outputs' });
}

/** Human-readable description of the outputs (`names`: the first output's class names). */
export function describeOutputs(outputs: Map<string, Tensor>, names?: readonly string[]): string {
  const lines: string[] = [];
  for (const [i, [name, t]] of [...outputs].entries()) {
    const classNames = i === 0 ? names : undefined;
    lines.push(`${name}: ${formatType({ dtype: t.dtype, shape: t.shape })}`);
    const v = t.data as ArrayLike<number>;
    if (t.shape.length === 2 && t.shape[0] === 1 && t.shape[1] > 1 && (t.dtype === 'float32' || t.dtype === 'float64')) {
      const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[b] - v[a] || a - b);
      for (const [rank, c] of order.slice(0, 5).entries()) lines.push(`  top-${rank + 1}: class ${c}${nameOf(classNames, c)}  ${formatNumber(v[c])}`);
      continue;
    }
    let min = Infinity, max = -Infinity, sum = 0;
    for (let i = 0; i < v.length; i++) { min = Math.min(min, v[i]); max = Math.max(max, v[i]); sum += v[i]; }
    if (v.length) lines.push(`  min ${formatNumber(min)}  mean ${formatNumber(sum / v.length)}  max ${formatNumber(max)}`);
    if (t.shape.length === 4 && t.shape[0] === 1 && t.shape[1] > 1) lines.push(`  pixels per class: ${classCounts(t, classNames)}`);
    // a trailing ArgMax's one class
    if (t.dtype === 'int64' && v.length === 1 && classNames) lines.push(`  class ${v[0]}${nameOf(classNames, v[0])}`);
  }
  return lines.join('\n') + '\n';
}

/** Per-pixel argmax class counts of a [1, C, H, W] map, largest first (segmentation). */
function classCounts(t: Tensor, names?: readonly string[]): string {
  const [, c, h, w] = t.shape, v = t.data as ArrayLike<number>, hw = h * w;
  const counts = new Map<number, number>();
  for (let p = 0; p < hw; p++) {
    const best = argmaxAt(v, 0, c, hw, p);
    counts.set(best, (counts.get(best) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 8).map(([k, n]) => `${k}${nameOf(names, k)}: ${n}`).join(', ');
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6);
}

/** Adds `mpcc infer` to the program. */
export function registerInfer(program: Command): void {
  withProgressFlags(
    withModelFlags(
      withImageFlags(program
        .command('infer')
        .description('run a model in the plaintext interpreter on a .npy input or an image')
        .argument('<model>', 'MODEL.onnx or FILE.mir')
        .requiredOption('--input <file>', 'input: an array (.npy, float32 C order; float64 is converted), or a PNG/JPEG image preprocessed by --preset/--resize/--crop/--mean/--std')
        .addOption(outputOption('write the first output as .npy instead of printing a summary'))
        .option('--precision <p>', 'interpreter precision: float32 or float64', 'float32')
        .option('--fixed', 'run in fixed point (Z_2^64) as secure inference computes, on the model driven to the quantized stage')
        .addOption(planOption())
        .option('--layers', 'with --fixed: print each layer\'s largest fixed-point vs float difference')
        .option('--classes <file>', 'class names to print with the top classes: one per line (PyTorch hub\'s imagenet_classes.txt), or JSON (a list, or {"0": [id, name], …})')),
      'canonicalize with --fixed, none without', ', or the quantized model\'s; with --fixed',
    ),
  ).action(
    action((model: string, options: InferOptions) => {
      process.stdout.write(runInfer(model, options, stderrProgress(options)).report);
    }),
  );
}
