// `npm run bench -- eval [--json] [--images N]`: `mpcc eval` on N (default 10,000) Fashion-MNIST-
// sized images (1×28×28) through a small CNN (conv 16 → ReLU → max-pool → conv 32 → ReLU →
// max-pool → 10 classes, random weights), in float (onnxruntime, eval's default, and the
// interpreter) and with --fixed, batched as eval batches by default. Baselines from the same run:
// float on the interpreter, batched and one image per call. Then a segmentation set in folders
// as Pascal VOC lays it out (`--data IMAGES --labels MASKS`, `--seg-images N`, default 60 PNG
// images of 150–240 × 200–290 pixels with palette label maps) through the zoo's DeepLabV3-style
// segmenter (3×128×128, 21 classes) with --preset imagenet --resize 128 --crop 128: decoded and
// resized batch by batch, against the same images and maps decoded beforehand into .npy arrays
// (the baseline in the same run), and on the interpreter. Last, the classifier compiled (mpcc
// compile, the classic mode) and measured by secure inference itself (`mpcc eval OUT`,
// `--secure-images N`, default 20, spread through the set as --sample picks them), beside the
// fixed-point simulation of the same images (the baseline in the same run).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEval } from '../compiler/commands/eval.js';
import { runCompile } from '../compiler/commands/compile.js';
import { encodeNpy } from '../compiler/npy.js';
import { OnnxBuilder } from '../compiler/onnx/writer.js';
import { benchInput } from './inputs.js';
import { buildZooModel } from '../examples/zoo/index.js';
import { segmentationFolder } from '../compiler/eval-images.js';
import { encodePalettePng, encodePng } from '../examples/png.js';

/** The benchmark's classifier: 1×28×28 → 10 classes. */
function fashionCnn(): Uint8Array {
  const b = new OnnxBuilder({ opset: 13 });
  const weights = (name: string, shape: number[], seed: number, scale: number) =>
    b.initializer(name, benchInput(shape.reduce((x, y) => x * y, 1), seed, scale), shape);
  b.input('input', [1, 1, 28, 28]);
  weights('conv1.w', [16, 1, 3, 3], 1, 0.5);
  weights('conv1.b', [16], 2, 0.1);
  weights('conv2.w', [32, 16, 3, 3], 3, 0.1);
  weights('fc.w', [10, 32 * 7 * 7], 4, 0.02);
  b.node('Conv', ['input', 'conv1.w', 'conv1.b'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1');
  b.node('Relu', ['c1'], ['r1'], {}, 'relu1');
  b.node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool1');
  b.node('Conv', ['p1', 'conv2.w'], ['c2'], { pads: [1, 1, 1, 1] }, 'conv2');
  b.node('Relu', ['c2'], ['r2'], {}, 'relu2');
  b.node('MaxPool', ['r2'], ['p2'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool2');
  b.node('Flatten', ['p2'], ['flat'], {}, 'flatten');
  b.node('Gemm', ['flat', 'fc.w'], ['logits'], { transB: 1 }, 'fc');
  b.output('logits', [1, 10]);
  return b.toBytes();
}

/** One row: one way of running eval over the images. */
interface Row {
  run: string;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  top1: number;
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--images');
  const n = at >= 0 ? Number(args[at + 1]) : 10000;
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-eval-'));
  try {
    const model = join(dir, 'cnn.onnx'), data = join(dir, 'x.npy'), labels = join(dir, 'y.npy');
    writeFileSync(model, fashionCnn());
    writeFileSync(data, encodeNpy([n, 1, 28, 28], benchInput(n * 784, 7, 1)));
    writeFileSync(labels, encodeNpy([n], Array.from({ length: n }, (_, i) => (i * 7) % 10), '<i8'));
    const row = async (name: string, options: { fixed?: boolean; batchSize?: number; runner?: string }, images = n): Promise<Row> => {
      const { report, seconds } = await runEval(model, { data, labels, ...options });
      return { run: name, images, seconds, imagesPerSecond: images / seconds, top1: report.top1 ?? NaN };
    };
    const rows = [
      await row('float, onnxruntime, batched (default)', {}),
      await row('float, interpreter, batched', { runner: 'interpreter' }),
      await row('float, interpreter, one image per call', { runner: 'interpreter', batchSize: 1 }),
      await row('fixed point, batched (default)', { fixed: true }),
    ];
    const segAt = args.indexOf('--seg-images');
    const seg = await segmentationRows(dir, segAt >= 0 ? Number(args[segAt + 1]) : 60);
    const secAt = args.indexOf('--secure-images');
    const secure = await secureRows(dir, model, data, labels, Math.min(n, secAt >= 0 ? Number(args[secAt + 1]) : 20));
    if (args.includes('--json')) {
      process.stdout.write(JSON.stringify({ classification: rows, segmentation: seg, secure }) + '\n');
      return;
    }
    const table = [['run', 'images', 'seconds', 'images/s', 'top-1']];
    for (const r of rows) table.push([r.run, String(r.images), r.seconds.toFixed(2), r.imagesPerSecond.toFixed(0), r.top1.toFixed(4)]);
    printTable(table);
    const segTable = [['segmentation run', 'images', 'seconds', 'images/s', 'mean IoU']];
    for (const r of seg) segTable.push([r.run, String(r.images), r.seconds.toFixed(2), r.imagesPerSecond.toFixed(1), r.miou.toFixed(4)]);
    process.stdout.write('\n');
    printTable(segTable);
    const secTable = [['compiled program', 'images', 'seconds', 's/image', 'top-1', 'online s/image', 'online MB/image', 'offline MB/image']];
    for (const r of secure) secTable.push([r.run, String(r.images), r.seconds.toFixed(2), (r.seconds / r.images).toFixed(3), r.top1.toFixed(4), r.onlineSeconds === null ? '—' : r.onlineSeconds.toFixed(3), r.onlineMB === null ? '—' : r.onlineMB.toFixed(3), r.offlineMB === null ? '—' : r.offlineMB.toFixed(3)]);
    process.stdout.write('\n');
    printTable(secTable);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An aligned text table. */
function printTable(table: string[][]): void {
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  process.stdout.write(table.map((r) => r.map((cell, c) => (c ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
}

/** One segmentation row: the seconds eval's runs took, and the mean IoU. */
interface SegRow {
  run: string;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  miou: number;
}

/** `n` images and palette label maps in folders, evaluated from the folders (both runners) and,
 * the baseline, from .npy arrays decoded beforehand. */
async function segmentationRows(dir: string, n: number): Promise<SegRow[]> {
  const model = join(dir, 'seg.onnx');
  writeFileSync(model, buildZooModel('deeplabv3'));
  const images = join(dir, 'JPEGImages'), masks = join(dir, 'SegmentationClass');
  mkdirSync(images);
  mkdirSync(masks);
  const palette = Array.from({ length: 256 }, (_, i) => [i, (i * 7) % 256, (i * 13) % 256] as [number, number, number]);
  for (let i = 0; i < n; i++) {
    const h = 150 + ((i * 37) % 91), w = 200 + ((i * 53) % 91);
    const pixels = Uint8Array.from(benchInput(h * w * 3, 100 + i, 1), (v) => Math.floor((v + 1) * 127.5));
    writeFileSync(join(images, `img${String(i).padStart(4, '0')}.png`), encodePng(pixels, h, w, 3));
    const labels = Uint8Array.from({ length: h * w }, (_, p) => ((p % w) * 21 / w + i) % 21 | 0);
    writeFileSync(join(masks, `img${String(i).padStart(4, '0')}.png`), encodePalettePng(labels, h, w, palette));
  }
  const flags = { preset: 'imagenet', resize: '128', crop: '128' };
  // the baseline's arrays: the same images and maps, decoded and resized beforehand
  const set = segmentationFolder(images, masks, undefined, { preset: 'imagenet', resize: 128, crop: 128 }, { classes: 21, channels: 3, h: 128, w: 128, ignoreIndex: 255 });
  const x = new Float32Array(n * 3 * 128 * 128);
  set.fill(0, n, x);
  writeFileSync(join(dir, 'seg-x.npy'), encodeNpy([n, 3, 128, 128], x));
  writeFileSync(join(dir, 'seg-y.npy'), encodeNpy([n, 128, 128], set.labels(0, n), '|u1'));
  const row = async (name: string, options: Record<string, unknown>): Promise<SegRow> => {
    const { report, seconds } = await runEval(model, options as never);
    return { run: name, images: n, seconds, imagesPerSecond: n / seconds, miou: report.miou ?? NaN };
  };
  return [
    await row('folders (PNG, decoded per batch), onnxruntime (default)', { data: images, labels: masks, ...flags }),
    await row('.npy arrays decoded beforehand, onnxruntime', { data: join(dir, 'seg-x.npy'), labels: join(dir, 'seg-y.npy') }),
    await row('folders (PNG, decoded per batch), interpreter', { data: images, labels: masks, ...flags, runner: 'interpreter' }),
  ];
}

/** One row of a compiled program's evaluation: the seconds eval took, top-1, and (secure) the
 * mean online seconds and online and offline MB per inference. */
interface SecureRow {
  run: string;
  images: number;
  seconds: number;
  top1: number;
  onlineSeconds: number | null;
  onlineMB: number | null;
  offlineMB: number | null;
}

/** The classifier compiled and evaluated on `n` of its images by secure inference (three local
 * processes, one server session), and, the baseline, the same images in the fixed-point simulation. */
async function secureRows(dir: string, model: string, data: string, labels: string, n: number): Promise<SecureRow[]> {
  const out = join(dir, 'cnn.out');
  runCompile(model, { output: out });
  const secure = await runEval(out, { data, labels, sample: String(n) });
  const fixed = await runEval(model, { data, labels, sample: String(n), fixed: true });
  const s = secure.report.secure!;
  return [
    { run: 'mpcc eval OUT: secure inference, 3 processes', images: n, seconds: secure.seconds, top1: secure.report.top1 ?? NaN, onlineSeconds: s.online.seconds, onlineMB: s.online.bytes / 1e6, offlineMB: s.offline.bytes / 1e6 },
    { run: 'mpcc eval MODEL --fixed (baseline: the simulation)', images: n, seconds: fixed.seconds, top1: fixed.report.top1 ?? NaN, onlineSeconds: null, onlineMB: null, offlineMB: null },
  ];
}
