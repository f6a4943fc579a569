// Digests of calibration samples: the hash of the float32 data as the planner used it, one short
// digest per sample, and the check that `mpcc eval` runs before measuring a plan's accuracy:
// no evaluation image may be one the plan was calibrated on (same float32 bytes).
import { createHash } from 'node:crypto';
import { diag } from '../../runtime/diagnostics.js';

/** Hex digits kept of a sample's sha256. */
export const SAMPLE_DIGEST_HEX = 16;

/** The float32 values as their little-endian bytes. */
function bytesOf(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}

/** sha256 (hex) of the float32 values' little-endian bytes. */
export function float32Sha256(data: Float32Array): string {
  return createHash('sha256').update(bytesOf(data)).digest('hex');
}

/** sha256 (hex) of bytes. */
export function bytesSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Per sample of `data` (samples of `perSample` values each), the first SAMPLE_DIGEST_HEX hex
 * digits of the sha256 of its float32 bytes. */
export function sampleDigests(data: Float32Array, perSample: number): string[] {
  const out: string[] = [];
  for (let at = 0; at + perSample <= data.length && perSample > 0; at += perSample) {
    out.push(float32Sha256(data.subarray(at, at + perSample)).slice(0, SAMPLE_DIGEST_HEX));
  }
  return out;
}

/** The sample digests a plan's `source` records (source.calib.sampleDigests), or undefined when
 * the plan was not made from calibration data; MPCC0018 naming the plan when malformed. */
export function planSampleDigests(source: Readonly<Record<string, unknown>>, planFile: string): string[] | undefined {
  const calib = source.calib;
  if (calib === undefined) return undefined;
  if (typeof calib !== 'object' || calib === null || Array.isArray(calib)) throw diag('MPCC0018', [planFile, 'expected an object']);
  const digests = (calib as Record<string, unknown>).sampleDigests;
  const hex = new RegExp(`^[0-9a-f]{${SAMPLE_DIGEST_HEX}}$`);
  if (!Array.isArray(digests) || digests.some((d) => typeof d !== 'string' || !hex.test(d))) {
    throw diag('MPCC0018', [planFile, `sampleDigests must be a list of ${SAMPLE_DIGEST_HEX}-digit lower-case hex strings`]);
  }
  return digests as string[];
}

/** Refuses (MPCC0015) evaluation images `data` (from file `dataFile`, `perSample` values each)
 * when any of them is a calibration sample of the plan (its digest among `calibDigests`). With
 * `batch` the images are one batch of a set read batch by batch, the first at index `batch.first`:
 * the error names that index and counts the batch's shared images as "at least". */
export function checkNoCalibrationOverlap(data: Float32Array, perSample: number, dataFile: string, calibDigests: readonly string[], planFile: string, batch?: { first: number }): void {
  if (calibDigests.length === 0) return;
  const calib = new Set(calibDigests);
  const shared = sampleDigests(data, perSample).map((d, i) => (calib.has(d) ? i : -1)).filter((i) => i >= 0);
  if (shared.length > 0) throw diag('MPCC0015', [dataFile, batch ? `at least ${shared.length}` : shared.length, planFile, (batch?.first ?? 0) + shared[0]]);
}
