// The flags several commands share, each declared once here (spelling, help text, range) and
// validated once: a bad value is MPCC0004 naming the flag (MPCC1008 for --input-shape, whose
// message names it too). Command files add them with `.addOption(...)` and read the values
// through the parsers below, so `--frac-bits` means 4..28 in every command that takes it. This
// module imports only commander and the diagnostics, so the light `mpcc party` entry point
// (compiler/party-cli.ts) can use it without loading the compiler.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { diag } from '../../runtime/diagnostics.js';
import { checkOutputPath } from '../cli-support.js';
import { RING_BITS, type RingBits } from '../../runtime/program/program.js';

/** The range of --frac-bits (quantize's own option checks the same range), and quantize's own
 * default; without the flag, the driver chooses the scale from the model (passes/quantize/frac-choice.ts). */
export const FRAC_BITS = { min: 4, max: 28, default: 12 } as const;

/** `--frac-bits F`: fractional bits of the fixed-point encoding; `note` adds to the help. */
export function fracBitsOption(note = ''): Option {
  return new Option('--frac-bits <f>', `fractional bits of the fixed-point encoding (${FRAC_BITS.min}..${FRAC_BITS.max}; default: chosen from the model: 16 with exact truncation (the default, no failure bound to keep); with --truncation local, the most bits from 12 to 16 whose share-truncation failure bound stays within 2^-12 per inference, or fewer for the activations and more for the weights of each layer within the same bound when that rounds less${note}; the flag puts both at F)`);
}

/** The value of --frac-bits, or undefined when the flag was not given. */
export function parseFracBits(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const f = Number(text);
  if (!/^\d+$/.test(text) || f < FRAC_BITS.min || f > FRAC_BITS.max) throw diag('MPCC0004', ['--frac-bits', text, `expected an integer in ${FRAC_BITS.min}..${FRAC_BITS.max}`]);
  return f;
}

/** `--input-shape DIMS`: the shape of an ONNX model's first input. */
export function inputShapeOption(): Option {
  return new Option('--input-shape <dims>', 'shape of the first input of an ONNX model (fixes symbolic dimensions), e.g. 1,3,224,224');
}

/** Parses `--input-shape` text such as "1,3,224,224" or "1x3x224x224" (MPCC1008 when malformed). */
export function parseInputShape(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(/[,x]/).map((s) => s.trim());
  const dims = parts.map(Number);
  if (parts.some((p) => p === '') || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw diag('MPCC1008', [text, 'expected positive integers separated by commas, e.g. 1,3,224,224']);
  }
  return dims;
}

/** `--passes LIST`: the passes to run before the secure tail the command needs (compiler/driver.ts
 * explains the meaning); `defaults` says what runs without the flag. */
export function passesOption(defaults: string): Option {
  return new Option(
    '--passes <list>',
    `passes to run first (default: ${defaults}); the secure tail quantize, lower, schedule-rounds is appended as far as ` +
      'this command needs, unless listed (list it to set its options); a model past a stage skips its passes (see mpcc passes)',
  );
}

/** `--plan FILE`: a block-ReLU plan (mpcc plan) applied after the float-level passes. */
export function planOption(): Option {
  return new Option('--plan <file>', 'block-ReLU plan (JSON, from mpcc plan) for this model: its ReLU layers become block-ReLUs after the float-level passes');
}

/** `command` with the flags of every command that drives a model through the passes:
 * `--frac-bits` (its note says when it applies), `--input-shape` and `--passes` (`passesDefault`
 * says what runs when it is not given). */
export function withModelFlags(command: Command, passesDefault: string, fracNote = ''): Command {
  return command.addOption(fracBitsOption(fracNote)).addOption(inputShapeOption()).addOption(passesOption(passesDefault));
}

/** `--round-timeout MS`: how long a party waits for a peer's frames in one round. */
export function roundTimeoutOption(): Option {
  return new Option(
    '--round-timeout <ms>',
    'give up (MPCC5002, naming the silent peer) when a round waits longer than this (default: 10000 + 1000 x the round\'s largest frame in bytes / 10 MB/s; 0 waits forever)',
  );
}

/** The value of --round-timeout: ms, or 'schedule' (the default formula) when not given. */
export function parseRoundTimeout(value: string | undefined): number | 'schedule' {
  if (value === undefined) return 'schedule';
  if (!/^\d+$/.test(value) || Number(value) > 2_147_483_647) throw diag('MPCC0004', ['--round-timeout', value, 'expected a whole number of milliseconds (0 waits forever)']);
  return Number(value);
}

/** `command` with `--quiet` (no progress lines; it wins over --progress) and `--progress`
 * (progress lines on stderr even when it is not a terminal), which every long command takes. */
export function withProgressFlags(command: Command): Command {
  return command
    .addOption(new Option('--quiet', 'print no progress lines on stderr'))
    .addOption(new Option('--progress', 'print progress lines on stderr even when it is not a terminal (logs)'));
}

/** `--json`: one JSON object `shape` on stdout instead of text. */
export function jsonOption(shape: string): Option {
  return new Option('--json', `print one JSON object ${shape} instead of text`);
}

/** `-o, --output PATH`: what the command writes there. */
export function outputOption(what: string): Option {
  return new Option('-o, --output <path>', what);
}

/** The -o value, or MPCC0004 naming -o when a command that needs it did not get it. */
export function requireOutput(value: string | undefined, what: string, folder = false, inputs: readonly string[] = []): string {
  if (!value) throw diag('MPCC0004', ['-o', '', `${what} is required`]);
  // a folder where a file goes, a file where a folder goes, a path under a file, or one of the
  // command's inputs: said now, before the command's work (MPCC0003)
  checkOutputPath(value, folder, inputs);
  return value;
}

/** --truncation: how every Truncate runs. */
export function truncationOption(): Option {
  return new Option(
    '--truncation <how>',
    "exact (default): every Truncate after a product, and every average pool's division, cannot fail (runtime/protocols/truncate-exact.ts: one round each; f bits per value more after a product with the server's weights, 2 bits after a product of two activations), so the scale has no failure bound to keep and takes 16 bits; local: SecureML's local share truncation for every Truncate (no message; HardSigmoid's affine map stays exact; fails with probability ~|x|/2^63 per value, within the scale's bound)",
  );
}

/** --client-offline [when]: lower in the client-offline mode (compiler/driver.ts, passes/secure/lower-client-offline.ts), or choose by the cost model (compiler/mode-choice.ts). */
export function clientOfflineOption(): Option {
  return new Option(
    '--client-offline [when]',
    "on (the flag alone): the client-offline mode: after the products reading the input, the client's share of every tensor is made in the offline phase, and the helper selects each ReLU and block-ReLU with the truncation and residual addition before it folded in (16 B online per selected element, 3 rounds per ReLU and product; passes/secure/lower-client-offline.ts). MaxPools are written as ReLU trees first (maxpool-to-relu-tree; a plan made without it keeps its MaxPools out of the plan, run as exact trees after it; plan with --passes canonicalize,maxpool-to-relu-tree, which the plan keeps for compile, to let the plan reach their comparisons). A model with any other communicating op (Clip, Mul of two activations, Sigmoid, ...) is refused (MPCC6027, naming the node). auto: the mode whose estimated online latency (LAN profile) is smaller, classic when the mode does not apply (compiler/mode-choice.ts). off: the classic mode. Default: auto when compile has a plan (--plan, --budget), else off",
  ).argParser((value: string) => {
    // commander takes the word after the flag as its value: a model named there is refused here,
    // at parse time, with the fix (the command's own check would only see a missing model)
    if (value === 'on' || value === 'off' || value === 'auto') return value;
    throw new InvalidArgumentError(`expected on, off or auto (the flag alone: on); a model named right after the flag is taken as its value: put the flag after the model, or write --client-offline=on`);
  });
}

/** --client-offline's value: on (the mode), off (classic) or auto (the cheaper online, by the cost model). */
export type ClientOfflineWhen = 'on' | 'off' | 'auto';

/** The --client-offline value: true (the flag alone) or on, off, auto; undefined: off (MPCC0004 for another). */
export function parseClientOffline(value: boolean | string | undefined): ClientOfflineWhen {
  if (value === undefined || value === false || value === 'off') return 'off';
  if (value === true || value === 'on') return 'on';
  if (value === 'auto') return 'auto';
  throw diag('MPCC0004', ['--client-offline', String(value), 'expected on, off or auto (the flag alone: on)']);
}

/** The --truncation value (MPCC0004 for another). */
export function parseTruncation(value: string | undefined): 'exact' | 'local' | undefined {
  if (value === undefined || value === 'exact' || value === 'local') return value;
  throw diag('MPCC0004', ['--truncation', value, 'expected exact or local']);
}

/** What --ring asks for: a ring's bits (32, 40, 48, 56, 64) or auto (from calibration, compiler/ring-choice.ts). */
export type RingWhen = RingBits | 'auto';

/** --ring <bits|auto>: the ring a client-offline program runs in (compiler/ring-choice.ts). */
export function ringOption(): Option {
  return new Option(
    '--ring <bits>',
    "the ring Z_2^bits the program computes in: 64, or with --client-offline 32, 40, 48 or 56, where every ring element travels in bits/8 bytes (passes/secure/lower-client-offline.ts: every truncation there is exact while the truncated value stays below 2^(bits−2) in ring units, 2^(bits−2−2f) in real units at f fractional bits); auto: the smallest ring whose bound is at least 8 times (3 bits over) the largest value the --calib samples make, Z_2^64 without samples. A value beyond the bound at inference wraps and ruins that inference's output (nothing fails silently in the protocol otherwise). Default: auto with --calib and the client-offline mode, else 64; with --client-offline auto, a ring below 64 applies only if the client-offline mode wins (else 64, said in a note)",
  );
}

/** The --ring value: the bits or 'auto'; undefined when not given (MPCC0004 for another). */
export function parseRing(value: string | number | undefined): RingWhen | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (text === 'auto') return 'auto';
  if ((RING_BITS as readonly number[]).some((b) => String(b) === text)) return Number(text) as RingBits;
  throw diag('MPCC0004', ['--ring', text, `expected ${RING_BITS.join(', ')} or auto (the ring Z_2^bits)`]);
}

/** --ring's value checked against the mode: a ring below 64 needs the client-offline mode
 * (MPCC6028 with --client-offline off); `when` the --client-offline value. */
export function checkRingMode(ring: RingWhen | undefined, when: ClientOfflineWhen): void {
  if (typeof ring === 'number' && ring < 64 && when === 'off') throw diag('MPCC6028', [String(ring), '--client-offline']);
}
