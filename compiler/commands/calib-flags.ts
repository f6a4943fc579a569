// The calibration flags of the commands that plan (`mpcc plan`, `mpcc compile --budget`),
// declared once: `--calib PATH` (an .npy N×C×H×W float32, a folder of .npy arrays, a folder of
// PNG/JPEG images, or class folders of them), the image transforms `--resize`, `--crop`,
// `--mean`, `--std`, `--preset imagenet|none` (also alone, withImageFlags, for the commands that
// take an image input), and
// `--calib-samples N`. Values are checked here (MPCC0004 naming the flag); the data itself is
// loaded by compiler/calibration/load.ts once the model's input shape is known.
import { type Command, Option } from 'commander';
import { diag } from '../../runtime/diagnostics.js';
import type { CalibrationOptions, ImageFlags } from '../calibration/load.js';
import { PRESETS } from '../calibration/preprocess.js';

/** Largest resize or crop side accepted. */
const MAX_SIDE = 16384;

/** `cmd` with the calibration flags. */
export function withCalibFlags(cmd: Command): Command {
  return withImageFlags(cmd.addOption(new Option('--calib <path>', 'calibration data: an .npy of N×C×H×W float32 samples, a folder of .npy arrays (C×H×W or N×C×H×W each, stacked by name), a folder of PNG/JPEG images (sorted by name), or a dataset\'s class folders (torchvision ImageFolder layout; --calib-samples spreads over them)')))
    .addOption(new Option('--calib-samples <n>', 'use the first N calibration samples (an error if there are fewer)'));
}

/** `cmd` with the image flags alone: how PNG/JPEG images are preprocessed (the calibration
 * flags' own, for `mpcc run`, `mpcc party` and `mpcc infer` `--input IMG`; `mpcc eval --data DIR`
 * has them through its refit's calibration flags). */
export function withImageFlags(cmd: Command): Command {
  const presets = Object.keys(PRESETS).join('|');
  return cmd
    .addOption(new Option('--resize <size>', "images: S resizes the shorter side to S (aspect kept), HxW to exactly H×W (PIL bilinear, antialiased, as torchvision's Resize)"))
    .addOption(new Option('--crop <size>', 'images: center crop S×S, or HxW (as torchvision CenterCrop)'))
    .addOption(new Option('--mean <values>', 'images: per-channel mean subtracted after scaling to [0,1], e.g. 0.485,0.456,0.406 (one value: all channels)'))
    .addOption(new Option('--std <values>', 'images: per-channel standard deviation divided by after the mean, e.g. 0.229,0.224,0.225'))
    .addOption(new Option('--preset <name>', `images: named preprocessing (${presets}); imagenet = --resize 256 --crop 224 and ImageNet's mean/std; explicit flags override it`));
}

/** MPCC0004 naming the first image flag of `flags` given for `path`, an array used as it is. */
export function refuseImageFlags(flags: ImageFlags, path: string): void {
  const given = (Object.keys(flags) as (keyof ImageFlags)[])[0];
  if (given !== undefined) throw diag('MPCC0004', [`--${given}`, String(flags[given]), `it applies to an image input (a PNG or JPEG file, or a folder of them); '${path}' is an array, used as it is`]);
}

/** The image flags of parsed flags as command-line arguments again (for a party process). */
export function imageFlagArgs(opts: Record<string, unknown>): string[] {
  return (['resize', 'crop', 'mean', 'std', 'preset'] as const).flatMap((k) => (opts[k] === undefined ? [] : [`--${k}`, String(opts[k])]));
}

/** The value of flag `flag` (key `key` of parsed `opts`) as text, or undefined. */
function flagText(opts: Record<string, unknown>, flag: string, key: string): string | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw diag('MPCC0004', [flag, String(v), 'expected a value']);
  return String(v);
}

/** The image flags of parsed flags (--preset, --resize, --crop, --mean, --std; MPCC0004 naming
 * the flag for a bad value); the ones not given are absent. */
export function imageFlagsFrom(opts: Record<string, unknown>): ImageFlags {
  const preset = flagText(opts, '--preset', 'preset');
  if (preset !== undefined && !(preset in PRESETS)) throw diag('MPCC0004', ['--preset', preset, `expected one of ${Object.keys(PRESETS).join(', ')}`]);
  const resize = parseSize('--resize', flagText(opts, '--resize', 'resize'));
  const crop = parseSize('--crop', flagText(opts, '--crop', 'crop'));
  const mean = parseNumbers('--mean', flagText(opts, '--mean', 'mean'), false);
  const std = parseNumbers('--std', flagText(opts, '--std', 'std'), true);
  return {
    ...(resize !== undefined ? { resize } : {}),
    ...(crop !== undefined ? { crop } : {}),
    ...(mean !== undefined ? { mean } : {}),
    ...(std !== undefined ? { std } : {}),
    ...(preset !== undefined ? { preset } : {}),
  };
}

/** The calibration options of parsed flags, or undefined without --calib (MPCC0004 naming the
 * flag for a bad value, or for a flag given without --calib: an image flag too unless
 * `imagesElsewhere`, for a command that preprocesses other images with them, `mpcc eval --data DIR`). */
export function calibrationOptionsFrom(opts: Record<string, unknown>, imagesElsewhere = false): CalibrationOptions | undefined {
  const calib = flagText(opts, '--calib', 'calib');
  if (calib === undefined) {
    const image = [['--resize', 'resize'], ['--crop', 'crop'], ['--mean', 'mean'], ['--std', 'std'], ['--preset', 'preset']];
    for (const [flag, key] of [...(imagesElsewhere ? [] : image), ['--calib-samples', 'calibSamples']]) {
      if (opts[key] !== undefined) throw diag('MPCC0004', [flag, String(opts[key]), 'it needs --calib']);
    }
    return undefined;
  }
  if (calib === '') throw diag('MPCC0004', ['--calib', calib, 'expected an .npy file or a folder of .npy arrays or images']);
  const samplesText = flagText(opts, '--calib-samples', 'calibSamples');
  let calibSamples: number | undefined;
  if (samplesText !== undefined) {
    calibSamples = Number(samplesText);
    if (!/^\d+$/.test(samplesText) || calibSamples < 1 || calibSamples > 2 ** 31 - 1) throw diag('MPCC0004', ['--calib-samples', samplesText, 'expected a positive integer']);
  }
  return { calib, ...imageFlagsFrom(opts), ...(calibSamples !== undefined ? { calibSamples } : {}) };
}

/** `S` or `HxW` (also `H,W`): positive integers up to MAX_SIDE. */
function parseSize(flag: string, value: string | undefined): number | [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(/[x,]/i).map((s) => s.trim());
  const dims = parts.map(Number);
  if ((parts.length !== 1 && parts.length !== 2) || parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => d < 1 || d > MAX_SIDE)) {
    throw diag('MPCC0004', [flag, value, `expected S or HxW, positive integers up to ${MAX_SIDE}`]);
  }
  return dims.length === 1 ? dims[0] : [dims[0], dims[1]];
}

/** Comma-separated finite numbers (`positive`: each > 0, as a standard deviation must be). */
function parseNumbers(flag: string, value: string | undefined, positive: boolean): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v) || (positive && v <= 0))) {
    throw diag('MPCC0004', [flag, value, `expected comma-separated ${positive ? 'positive ' : ''}numbers, e.g. ${positive ? '0.229,0.224,0.225' : '0.485,0.456,0.406'}`]);
  }
  return nums;
}
