// The comparison-window flags of `mpcc compile` (and `mpcc cost`), declared once:
// `--compare-bits K|auto`, `--drop-lsb L`, `--max-sign-error R`. Values are checked here
// (MPCC4071 K outside 2..64, MPCC4072 a bad L or L ≥ K, MPCC4074 a bad R, MPCC4075 L or R
// without --compare-bits); `auto` without calibration data is MPCC4070, checked where --calib is
// known. compiler/narrow.ts does the work.
import { type Command, Option } from 'commander';
import { diag } from '../../runtime/diagnostics.js';

/** Default --max-sign-error: the predicted sign-error rate auto windows stay under, per layer. */
export const DEFAULT_MAX_SIGN_ERROR = 1e-4;

/** What the comparison flags ask for. */
export type CompareChoice =
  | { readonly mode: 'none' }
  | { readonly mode: 'fixed'; readonly k: number; readonly lo: number }
  | { readonly mode: 'auto'; readonly maxSignError: number };

/** `cmd` with the comparison-window flags. */
export function withCompareFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--compare-bits <K|auto>', 'bits every secure comparison looks at: K (2..64, one window for all, the paper\'s way) or auto (per layer from --calib statistics); default 64'))
    .addOption(new Option('--drop-lsb <L>', 'with --compare-bits K: low bits dropped before comparing (0 <= L < K, L + K <= 64; default 0)'))
    .addOption(new Option('--max-sign-error <R>', `with --compare-bits auto: per layer, the predicted share of comparisons whose sign the window misreads stays under R (default ${DEFAULT_MAX_SIGN_ERROR})`));
}

/** The comparison choice of parsed flags (commander's option object). */
export function compareChoiceFrom(opts: { compareBits?: unknown; dropLsb?: unknown; maxSignError?: unknown }): CompareChoice {
  const bits = opts.compareBits === undefined ? undefined : String(opts.compareBits);
  const drop = opts.dropLsb === undefined ? undefined : String(opts.dropLsb);
  const maxErr = opts.maxSignError === undefined ? undefined : String(opts.maxSignError);
  if (bits === undefined) {
    if (drop !== undefined) throw diag('MPCC4075', ['--drop-lsb', 'it sets the low end of the window --compare-bits K gives']);
    if (maxErr !== undefined) throw diag('MPCC4075', ['--max-sign-error', 'it bounds the windows --compare-bits auto chooses']);
    return { mode: 'none' };
  }
  if (bits === 'auto') {
    if (drop !== undefined) throw diag('MPCC4072', [drop, 'auto chooses the low bits per layer; give --drop-lsb with --compare-bits K only']);
    let maxSignError = DEFAULT_MAX_SIGN_ERROR;
    if (maxErr !== undefined) {
      maxSignError = Number(maxErr);
      if (maxErr.trim() === '' || !Number.isFinite(maxSignError) || maxSignError <= 0 || maxSignError >= 1) throw diag('MPCC4074', [maxErr]);
    }
    return { mode: 'auto', maxSignError };
  }
  const k = Number(bits);
  if (!/^\d+$/.test(bits) || k < 2 || k > 64) throw diag('MPCC4071', [bits]);
  if (maxErr !== undefined) throw diag('MPCC4075', ['--max-sign-error', 'it bounds the windows --compare-bits auto chooses, not a fixed K']);
  let lo = 0;
  if (drop !== undefined) {
    lo = Number(drop);
    if (!/^\d+$/.test(drop)) throw diag('MPCC4072', [drop, 'expected a whole number of bits >= 0']);
    if (lo >= k) throw diag('MPCC4072', [drop, `it must be below --compare-bits (${k}): a window keeps at least one bit besides the dropped ones`]);
    if (lo + k > 64) throw diag('MPCC4072', [drop, `the window [${lo}, ${lo + k}) must fit in the 64-bit ring`]);
  }
  return { mode: 'fixed', k, lo };
}
