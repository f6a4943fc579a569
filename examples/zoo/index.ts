// The model zoo's registry: name → builder, one-line description and input shape. `mpcc zoo`
// and the tests build models through it, optionally in another opset or with batch-norm folded.
import { diag } from '../../runtime/diagnostics.js';
import { buildAllOps } from './all-ops.js';
import { buildDeeplabV3, DEEPLAB_CLASSES, DEEPLAB_SIZE } from './deeplabv3.js';
import { buildLegacyOps, LEGACY_OPSET } from './legacy-ops.js';
import { buildMobilenetV2 } from './mobilenetv2.js';
import { buildMobilenetV3 } from './mobilenetv3.js';
import type { Net, NetOptions } from './net.js';
import { buildResnet18 } from './resnet18.js';
import { buildResnet18Cifar } from './resnet18-cifar.js';
import { buildResnet50 } from './resnet50.js';
import { buildSecureOps } from './secure-ops.js';
import { buildTinyCnn } from './tiny-cnn.js';

/** The opsets the zoo writes its modern models in. */
export const ZOO_OPSETS: readonly number[] = [11, 12, 13, 14, 15, 16, 17, 18];

/** How to write a zoo model. */
export interface ZooBuildOptions {
  /** Default-domain opset (default: the entry's first opset, 13 for the modern models). */
  readonly opset?: number;
  /** Fold BatchNormalization into the convs (same function, fewer nodes). */
  readonly foldBatchNorm?: boolean;
  /** Declare the batch dimension symbolic ('batch'); importers then need --input-shape. */
  readonly dynamicBatch?: boolean;
  /** Write initializers in float_data/int64_data instead of raw_data. */
  readonly typedTensors?: boolean;
}

/** One zoo model: how to build it and what it expects. */
export interface ZooEntry {
  readonly name: string;
  readonly description: string;
  /** Shape of the single float32 input named `input`. */
  readonly inputShape: readonly number[];
  /** Shapes of the outputs, by name, in graph order. */
  readonly outputs: Readonly<Record<string, readonly number[]>>;
  /** Small enough to run in unit tests (well under a second on onnxruntime). */
  readonly small: boolean;
  /** The opsets it can be written in; the first is the default. */
  readonly opsets: readonly number[];
  readonly build: (options: NetOptions) => Net;
}

const MODERN = [13, ...ZOO_OPSETS.filter((v) => v !== 13)];

/** Every zoo model, in the order `mpcc zoo --list` prints them. */
export const ZOO: readonly ZooEntry[] = [
  {
    name: 'tiny-cnn',
    description: 'tiny test CNN: 2 conv-BN-ReLU, max/avg pool, Gemm; 3x16x16 -> 10 classes',
    inputShape: [1, 3, 16, 16],
    outputs: { output: [1, 10] },
    small: true,
    opsets: MODERN,
    build: buildTinyCnn,
  },
  {
    name: 'all-ops',
    description: 'importer test: every supported ONNX operator and attribute variant; 3x16x16 -> softmax(10) + argmax',
    inputShape: [1, 3, 16, 16],
    outputs: { output: [1, 10], argmax: [1] },
    small: true,
    opsets: MODERN,
    build: buildAllOps,
  },
  {
    name: 'legacy-ops',
    description: `importer test in opset ${LEGACY_OPSET}: Clip attributes, Upsample, attribute-form Pad/Slice/Squeeze; 3x16x16 -> 10`,
    inputShape: [1, 3, 16, 16],
    outputs: { output: [1, 10] },
    small: true,
    opsets: [LEGACY_OPSET],
    build: buildLegacyOps,
  },
  {
    name: 'secure-ops',
    description: 'every operator secure inference supports (convs, pools, residual, concat, pad, slice, resize, matmul, ...); 3x16x16 -> softmax(10)',
    inputShape: [1, 3, 16, 16],
    outputs: { output: [1, 10] },
    small: true,
    opsets: MODERN,
    build: buildSecureOps,
  },
  {
    name: 'resnet18-cifar',
    description: 'ResNet18 for CIFAR-100: 3x3 stem, no max-pool, BasicBlocks [2,2,2,2]; 3x32x32 -> 100 classes',
    inputShape: [1, 3, 32, 32],
    outputs: { output: [1, 100] },
    small: true,
    opsets: MODERN,
    build: buildResnet18Cifar,
  },
  {
    name: 'resnet18',
    description: 'torchvision ResNet18: 7x7 stem + max-pool, BasicBlocks [2,2,2,2]; 3x224x224 -> 1000 classes',
    inputShape: [1, 3, 224, 224],
    outputs: { output: [1, 1000] },
    small: false,
    opsets: MODERN,
    build: buildResnet18,
  },
  {
    name: 'resnet50',
    description: 'torchvision ResNet50 v1.5: Bottlenecks [3,4,6,3]; 3x224x224 -> 1000 classes',
    inputShape: [1, 3, 224, 224],
    outputs: { output: [1, 1000] },
    small: false,
    opsets: MODERN,
    build: buildResnet50,
  },
  {
    name: 'mobilenetv2',
    description: 'torchvision MobileNetV2: inverted residuals, ReLU6 as Clip; 3x224x224 -> 1000 classes',
    inputShape: [1, 3, 224, 224],
    outputs: { output: [1, 1000] },
    small: false,
    opsets: MODERN,
    build: buildMobilenetV2,
  },
  {
    name: 'mobilenetv3-small',
    description: 'MobileNetV3-style: Hardswish (x * HardSigmoid(x)), squeeze-excitation with HardSigmoid gate, depthwise convs; 3x32x32 -> 10 classes',
    inputShape: [1, 3, 32, 32],
    outputs: { output: [1, 10] },
    small: true,
    opsets: MODERN,
    build: buildMobilenetV3,
  },
  {
    name: 'deeplabv3',
    description: `DeepLabV3-style segmentation: dilated ResNet backbone, ASPP with image pooling, bilinear Resize; 3x${DEEPLAB_SIZE}x${DEEPLAB_SIZE} -> ${DEEPLAB_CLASSES} classes per pixel`,
    inputShape: [1, 3, DEEPLAB_SIZE, DEEPLAB_SIZE],
    outputs: { output: [1, DEEPLAB_CLASSES, DEEPLAB_SIZE, DEEPLAB_SIZE] },
    small: true,
    opsets: MODERN,
    build: buildDeeplabV3,
  },
];

/** The names of all zoo models. */
export function zooNames(): string[] {
  return ZOO.map((e) => e.name);
}

/** The zoo entry called `name`; an unknown name is a user error (MPCC0005) listing the known ones. */
export function zooEntry(name: string): ZooEntry {
  const entry = ZOO.find((e) => e.name === name);
  if (!entry) throw diag('MPCC0005', [name, zooNames().join(', ')]);
  return entry;
}

/** Checks `options` against `entry` (an opset it cannot be written in is a user error, MPCC0004). */
export function checkZooOptions(entry: ZooEntry, options: ZooBuildOptions): void {
  if (options.opset !== undefined && !entry.opsets.includes(options.opset)) {
    throw diag('MPCC0004', ['--opset', options.opset, `'${entry.name}' is written in opset ${[...entry.opsets].sort((a, b) => a - b).join(', ')}`]);
  }
}

/** The network of zoo model `name`, built but not serialized. */
export function buildZooNet(name: string, options: ZooBuildOptions = {}): Net {
  const entry = zooEntry(name);
  checkZooOptions(entry, options);
  return entry.build({
    opset: options.opset ?? entry.opsets[0],
    foldBatchNorm: options.foldBatchNorm ?? false,
    dynamicBatch: options.dynamicBatch ?? false,
  });
}

/** The ONNX bytes of zoo model `name` (deterministic: the same bytes on every call). */
export function buildZooModel(name: string, options: ZooBuildOptions = {}): Uint8Array {
  return buildZooFiles(name, options).model;
}

/**
 * The files of zoo model `name`: the model, and with `externalDataLocation` the external data
 * file that holds its initializers of 1 KiB or more (to be written at that location, relative
 * to the model's directory).
 */
export function buildZooFiles(name: string, options: ZooBuildOptions = {}, externalDataLocation?: string): { model: Uint8Array; externalData?: Uint8Array } {
  return buildZooNet(name, options).onnx.serialize({
    tensorEncoding: options.typedTensors ? 'typed' : 'raw',
    externalData: externalDataLocation === undefined ? undefined : { location: externalDataLocation },
  });
}
