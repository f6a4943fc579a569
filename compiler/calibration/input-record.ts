// The image preprocessing a compile records for its clients (the manifests' input.preprocessing,
// runtime/program/manifest.ts): how the calibration images were preprocessed, so `mpcc run
// --input cat.jpg` feeds the network what it was calibrated on without repeating the flags. The
// compile's own --calib decides when given (its image flags; none: arrays, or images used as
// they are); otherwise the plan's record of the images it was made from (plan.source.calib, from
// `mpcc plan --calib` or `mpcc compile --budget`). Nothing is recorded when neither preprocessed
// images: a client's image is then used as it is, as without a record.
import type { InputPreprocessing } from '../../runtime/program/manifest.js';
import { type CalibrationOptions, resolvePreprocessing } from './load.js';
import type { Preprocessing, SizeSpec } from './preprocess.js';

/** A Preprocessing as the manifest records it (absent transforms left out), or undefined for none. */
export function manifestRecord(p: Preprocessing): InputPreprocessing | undefined {
  const size = (s: SizeSpec | undefined) => (s === undefined ? undefined : typeof s === 'number' ? s : ([s[0], s[1]] as [number, number]));
  const r: InputPreprocessing = {
    ...(p.resize !== undefined ? { resize: size(p.resize) } : {}),
    ...(p.crop !== undefined ? { crop: size(p.crop) } : {}),
    ...(p.mean !== undefined ? { mean: [...p.mean] } : {}),
    ...(p.std !== undefined ? { std: [...p.std] } : {}),
  };
  return Object.keys(r).length ? r : undefined;
}

/** The record of a compile with calibration options `calib` and plan file bytes `plan`. */
export function compilePreprocessing(calib: CalibrationOptions | undefined, plan: Uint8Array | undefined): InputPreprocessing | undefined {
  if (calib !== undefined) return manifestRecord(resolvePreprocessing(calib));
  return planPreprocessing(plan);
}

/** A warning when the compile's --calib images are preprocessed otherwise than the images the
 * plan was made from (its record): clients' images will then be preprocessed as the compile's,
 * not as the plan was measured on. Null when they agree, or either made no record of images. */
export function preprocessingMismatch(calib: CalibrationOptions | undefined, plan: Uint8Array | undefined): string | null {
  // an .npy of arrays is used as it is: what its maker did to it is not known here
  if (calib === undefined || plan === undefined || /\.npy$/i.test(calib.calib)) return null;
  const planned = planPreprocessing(plan);
  if (planned === undefined) return null;
  const ours = manifestRecord(resolvePreprocessing(calib));
  if (JSON.stringify(ours ?? {}) === JSON.stringify(planned)) return null;
  return `the plan was made on images preprocessed as ${describePreprocessing(planned)}; this compile's --calib images are preprocessed as ${ours ? describePreprocessing(ours) : 'they are (no transform)'}, and so will clients' images be: give the plan's image flags (e.g. its --preset) to --calib too`;
}

/** The plan's record of the images it was made from (plan.source.calib), as the manifest records it. */
function planPreprocessing(plan: Uint8Array | undefined): InputPreprocessing | undefined {
  if (plan === undefined) return undefined;
  const source = (JSON.parse(new TextDecoder().decode(plan)) as { source?: { calib?: { kind?: string; preprocessing?: Record<string, unknown> } } }).source;
  const rec = source?.calib?.kind === 'images' ? source.calib.preprocessing : undefined;
  if (!rec) return undefined;
  // the plan's record (compiler/calibration/load.ts): null for a transform not applied
  const take = <T>(v: unknown) => (v === null || v === undefined ? undefined : (v as T));
  return manifestRecord({ resize: take<SizeSpec>(rec.resize), crop: take<SizeSpec>(rec.crop), mean: take<number[]>(rec.mean), std: take<number[]>(rec.std) });
}

/** One line naming a record's transforms, e.g. "resize 256, crop 224, mean 0.485,0.456,0.406, std …". */
export function describePreprocessing(p: InputPreprocessing): string {
  const size = (s: number | [number, number]) => (typeof s === 'number' ? String(s) : `${s[0]}x${s[1]}`);
  return [
    p.resize !== undefined ? `resize ${size(p.resize)}` : '',
    p.crop !== undefined ? `crop ${size(p.crop)}` : '',
    p.mean ? `mean ${p.mean.join(',')}` : '',
    p.std ? `std ${p.std.join(',')}` : '',
  ].filter(Boolean).join(', ');
}
