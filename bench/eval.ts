// `npm run bench -- eval [--json] [--images N]`: `mpcc eval` on N (default 10,000) Fashion-MNIST-
// sized images (1×28×28) through a small CNN (conv 16 → ReLU → max-pool → conv 32 → ReLU →
// max-pool → 10 classes, random weights), in float (onnxruntime, eval's default, and the
// interpreter) and with --fixed, batched as eval batches by default. Baselines from the same run:
// float on the interpreter, batched and one image per call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEval } from '../compiler/commands/eval.js';
import { encodeNpy } from '../compiler/npy.js';
import { OnnxBuilder } from '../compiler/onnx/writer.js';
import { benchInput } from './inputs.js';

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
    if (args.includes('--json')) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    const table = [['run', 'images', 'seconds', 'images/s', 'top-1']];
    for (const r of rows) table.push([r.run, String(r.images), r.seconds.toFixed(2), r.imagesPerSecond.toFixed(0), r.top1.toFixed(4)]);
    const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    process.stdout.write(table.map((r) => r.map((cell, c) => (c ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
