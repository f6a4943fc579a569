// The one catalog of user-facing diagnostics, for the compiler (CLI, ONNX import, IR, passes,
// codegen) and the runtime alike; it lives in runtime/, the lowest layer, so every layer can
// raise from it. A user error is an MpccError: a code, a message built from a template, and an
// optional location; the CLI prints it on one line with no stack trace. A failure of the
// three-party runtime is a RuntimeError, an MpccError that may name the peer it is about (by id
// and role, "peer 2 (helper)", so an operator knows which process to look at); the CLI prints
// it like any other. A broken internal invariant throws InternalError instead.
//
// Code ranges: 0xxx CLI and files, 1xxx ONNX import, 2xxx IR and textual IR, 3xxx interpreters
// and the client's input, 4xxx passes and pipelines, 5xxx the runtime (50xx sessions and
// transports, 51xx kernels modules, 52xx the program executor and artifacts), 6xxx secure
// compilation (600x quantize, 602x lower, scheduling and costs, 604x codegen and `mpcc run`).
//
// test/runtime/diagnostics.test.ts holds the catalog to the tree: every code is raised
// somewhere and named by a test (unless in INTERNAL_CODES), and no two share a template.

import type { PartyId } from './session/session.js';

/** Templates of all diagnostics; `{0}`, `{1}`… are filled by `diag` and `runtimeError`. */
export const DIAGNOSTICS = {
  MPCC0001: 'the compiled CLI is missing ({0}); run `npm run build` first',
  MPCC0002: "cannot read file '{0}': {1}",
  MPCC0003: "cannot write file '{0}': {1}",
  MPCC0004: "invalid value '{1}' for flag {0}: {2}",
  MPCC0005: "unknown model '{0}' (known: {1})",
  MPCC0006: "unsupported file type '{0}': expected {1}",
  MPCC0007: "{0} ({1} lists the flags)",
  MPCC0008: 'stopped ({0}): the work in progress is abandoned (any party processes it ran stopped, its temporary files removed); no output was written',
  MPCC0010: "calibration data '{0}' of shape [{1}] does not fit the model's input [{2}]: {3}",
  MPCC0011: "calibration folder '{0}' holds no PNG or JPEG image and no .npy array{1}",
  MPCC0012: "cannot decode image '{0}': {1}",
  MPCC0013: "image '{0}' is {1} but the model takes {2}: {3}",
  MPCC0014: "--calib-samples {0} asks for more samples than '{1}' holds ({2})",
  MPCC0015: "'{0}' shares {1} of its images with the calibration data of plan '{2}' (the first at index {3}): calibration images must not come from the evaluation set",
  MPCC0016: "calibration data '{0}' is neither a .npy file nor a folder of images or .npy arrays",
  MPCC0017: "calibration data '{0}' holds {1} at sample {2}: samples must be finite",
  MPCC0018: "plan '{0}': source.calib is malformed: {1}",
  MPCC0019: "the model's input has {0} channels but images from '{1}' convert only to 1 (gray) or 3 (RGB)",
  MPCC0020: "calibration folder '{0}' holds both images ({1}) and .npy arrays ({2}): images are preprocessed and arrays used as they are, so keep one kind in it",
  MPCC0030: "'{0}' is not a folder written by mpcc compile: {1}",
  MPCC0031: "report input '{0}' is not {1}: {2}",
  MPCC0032: "plan '{0}' was made for another model (sha256 {1}) than {2} (sha256 {3})",
  MPCC0033: "run file '{0}' is from another compiled model: architecture {1}, but {2} has {3}",
  MPCC0034: "eval file '{0}' measured another model (sha256 {1}) than {2} (sha256 {3})",
  MPCC0035: "mpcc report takes {0}: {1}",

  MPCC1001: "ONNX operator '{0}' (opset {1}) at node '{2}' is not supported",
  MPCC1002: "'{0}' is not a valid ONNX model: {1}",
  MPCC1003: "ONNX opset {0} of '{1}' is not supported (supported: {2})",
  MPCC1004: "input '{0}' has symbolic dimension '{1}'; fix it with --input-shape",
  MPCC1005: "external data file '{0}' for tensor '{1}' of '{2}' is missing",
  MPCC1006: "node '{0}' ({1}): {2}",
  MPCC1007: "tensor '{0}' has unsupported data type {1}",
  MPCC1008: "invalid --input-shape '{0}': {1}",
  MPCC1009: "value '{0}' used by node '{1}' is not defined",
  MPCC1010: "cannot export node '{0}' ({1}) to ONNX: {2}",
  MPCC1011: "external data of tensor '{0}' in '{1}' is refused: {2}",

  MPCC2001: 'syntax error: {0}',
  MPCC2002: "IR verification failed at node '{0}' ({1}): {2}",
  MPCC2003: "IR verification failed: {0}",
  MPCC2004: "weights file '{0}': {1}",
  MPCC2005: 'semantic error: {0}',

  MPCC3001: "'{0}' is not a valid .npy file: {1}",
  MPCC3002: "input '{0}' has shape [{1}] but the model expects [{2}] (file '{3}')",
  MPCC3003: "input '{0}' has dtype {1} but the model expects float32",
  MPCC3004: "interpreter: node '{0}' ({1}): {2}",
  MPCC3005: "'{0}' holds {1} labels but '{2}' holds {3}",
  MPCC3006: "labels '{0}' of shape [{1}] do not fit the model: {2}",
  MPCC3007: "images '{0}' of shape [{1}] do not fit the model: {2}",
  MPCC3008: "'{0}' has dtype {1}: {2}",
  MPCC3009: "cannot evaluate the model: {0}",
  MPCC3010: "input file '{0}' holds {1} at index {2}: the model takes only finite values{3}",
  MPCC3011: "image folder '{0}' has {1} class folder(s) but the model classifies into {2}: its labels are the indices of its class folders sorted by name (as torchvision's ImageFolder), so it needs one folder per class (empty ones allowed)",
  MPCC3012: "image folder '{0}' holds {1} image(s) mpcc cannot decode (the first '{2}'): only PNG and JPEG are read",
  MPCC3013: "image folder '{0}' holds no PNG or JPEG image in a class folder{1}",
  MPCC3014: "label map '{0}': {1}",
  MPCC3015: "segmentation set '{0}' with label maps '{1}': {2}",

  MPCC4001: "unknown pass '{0}' (known: {1})",
  MPCC4002: "pass '{0}': unknown option '{1}' (known: {2})",
  MPCC4003: "pass '{0}': invalid option {1}={2}: {3}",
  MPCC4004: "invalid pass pipeline '{0}': {1}",
  MPCC4005: "the IR is invalid after pass '{0}': {1}",
  // 401x: block-ReLU plan files (passes/planning/plan-file.ts).
  MPCC4010: "plan '{0}' is not a valid plan file: {1}",
  MPCC4011: "plan '{0}' has format '{1}' version {2}; this mpcc reads format 'mpcc-plan' version 1",
  MPCC4012: "plan '{0}' is for another model: it was made for sha256 {1}, but '{2}' has sha256 {3} (the same architecture fine-tuned: mpcc plan '{2}' --from '{0}' -o PLAN2 carries the plan to it)",
  MPCC4013: "plan '{0}': layer '{1}' is not a ReLU layer of the model ({2})",
  MPCC4014: "plan '{0}': layer '{1}' is a Clip (ReLU6) in this model; block-ReLUs replace Relu only: run relu6-to-relu first (--passes canonicalize,relu6-to-relu)",
  MPCC4015: "plan '{0}' claims every ReLU layer (\"complete\": true) but misses the model's ReLU layer '{1}'",
  MPCC4016: "plan '{0}': layer '{1}' has {2} channel blocks, but its activation [{3}] has {4} channels",
  MPCC4017: "plan '{0}': layer '{1}' was planned for activation shape [{2}], the model's is [{3}]",
  MPCC4018: "plan '{0}': layer '{1}', channel {2}: block [{3}] does not fit the {4}x{5} map (1 <= bh <= H, 1 <= bw <= W)",
  MPCC4019: "plan '{0}' cannot be carried to '{1}': {2} (mpcc plan --from takes a plan to a model of the same architecture)",
  // 402x: the multiple-choice knapsack (passes/planning/knapsack/).
  MPCC4020: 'knapsack: group {0}, option {1}: {2}',
  MPCC4021: 'knapsack: group {0} has no options; every group needs at least one',
  MPCC4022: 'knapsack: the budget of {1} DReLUs is below the minimum achievable cost of {0} DReLUs (the cheapest option of every group)',
  MPCC4023: 'knapsack: invalid budget {0}: a budget is a whole number of DReLUs >= 0',
  MPCC4024: 'knapsack: the exact DP needs {0} MB of back-pointers ({1} groups x {2} budget states), over its cap of {3} MB; use the scalable solver (method auto or scalable)',
  // 404x: the knapsack planner (passes/planning/distortion/, compiler/planning/, mpcc plan --budget).
  MPCC4040: "invalid budget {0} {1}: {2}",
  MPCC4043: "distortion cache file '{0}' is corrupt ({1}); measuring its layer again",
  MPCC4044: "invalid --block-sizes '{0}': cannot read item '{1}' (items: BHxBW, upto:K, square:K, half, whole, identity)",
  MPCC4046: "the planner cannot batch the model at '{0}': {1}",
  MPCC4047: "'{0}' has no ReLU layer (of 4-D activations) for a plan to reach{1}",
  // 407x: narrowed comparison windows (passes/planning/narrow-compare.ts, compiler/commands/compare-flags.ts).
  MPCC4070: '--compare-bits auto chooses windows from calibration data: give --calib DATA (or --plan P with windows made before)',
  MPCC4071: "--compare-bits '{0}' is invalid: expected auto or a whole number of bits K with 2 <= K <= 64",
  MPCC4072: "--drop-lsb '{0}' is invalid: {1}",
  MPCC4073: "plan '{0}': the window of '{1}' does not fit the model: {2}",
  MPCC4074: "--max-sign-error '{0}' is invalid: expected a number with 0 < R < 1",
  MPCC4075: "'{0}' needs --compare-bits: {1}",
  MPCC4050: "--mode fast: node '{0}' ({1}) has no backward kernel; the fast distortion estimate supports {2}",
  MPCC4051: "--mode fast: calibration data of shape [{0}] does not fit the model's input '{1}' of shape [{2}]: {3}",
  MPCC4052: "--mode fast: layer '{0}': {1}",
  MPCC4053: "--mode fast: probes={0}: {1}",
  MPCC4054: "--mode fast: the model has {0} inputs and {1} outputs; the estimate needs exactly one of each",
  // 406x: the training-free refit of the weights after planning (passes/planning/reconstruct/).
  MPCC4060: '--reconstruct needs calibration images to fit the weights on: give --calib FILE (never the images you measure accuracy on)',
  MPCC4061: "refit weights file '{0}' is not valid: {1}",
  MPCC4062: "refit weights file '{0}' was made for another {1}: it records sha256 {2}, but '{3}' has sha256 {4}",
  MPCC4063: "reconstruct: layer '{0}' has {1} calibration samples for {2} unknowns per output; the ridge is raised to {3} (give more calibration images)",
  MPCC4064: "calibration data '{0}' cannot be used for the refit: {1}",
  MPCC4065: "'{0}' shares {1} of its images with the refit's calibration data '{2}' (the first at index {3}): measure accuracy on images the refit never saw",
  MPCC4066: "{0} {1}: the ridge must be a positive number or 'auto'",
  MPCC4090: "--reconstruct: plan '{0}' references no refit weights file: give --calib to refit now, or make the plan with mpcc plan --reconstruct --calib",
  MPCC4091: "plan '{0}' references refit weights file '{1}' with sha256 {2}, but the file has sha256 {3} (it was replaced after the plan was made)",

  // 50xx: sessions and transports (runtime/session, runtime/transport).
  MPCC5001: 'peer {0} disconnected: {1}',
  MPCC5002: 'timed out after {1} ms waiting for peer {0} in round {2}',
  MPCC5003: 'malformed frame from peer {0}: {1}',
  MPCC5004: 'frame of the wrong round from peer {0}: expected round {1}, got round {2}',
  MPCC5005: 'handshake with peer {0} failed: {1}',
  MPCC5006: 'could not connect to peer {0} at {1} within {2} ms: {3}',
  MPCC5007: 'peer {0} runs wire version {1}, this party runs version {2}',
  MPCC5008: "peer {0} belongs to another session (its tag '{1}' differs from this party's tag '{2}'): the parties' folders come from different compiles (another model, plan or flags) or mpcc versions; give each party its folder of the same `mpcc compile`",
  MPCC5009: 'session of party {0} is closed: {1}',
  MPCC5010: 'invalid round: {0}',
  MPCC5011: 'peer {0} aborted the session: {1}',
  MPCC5012: 'peer {0} closed the session, but this party still waits for its frame of round {1}',
  MPCC5013: 'deadlock: every party waits for a frame that no party will send ({0})',
  MPCC5014: 'invalid transport configuration: {0}',
  MPCC5015: 'authentication of peer {0} failed: {1}',
  MPCC5016: 'peer {0} never made an authenticated connection to {1} within {2} ms; refused: {3}',
  MPCC5017: 'encrypted frame from peer {0} failed authentication: {1}',
  MPCC5018: 'peer {0} sent {1} bytes before authenticating (at most {2} are allowed): cut off',
  MPCC5019: 'key file {0}: {1}',
  MPCC5020: 'peer address {0} is not loopback and this party has no keys: give --key and --peer-keys (made by mpcc keygen), or --insecure on a network you trust',
  MPCC5021: 'frame from peer {0} refused in round {1}: {2}',
  // 503x: serving many clients (runtime/transport/serving.ts).
  MPCC5030: 'control message exchange with peer {0} failed: {1}',
  MPCC5031: 'peer {0} refused this client: it is serving another client (try again when it is free)',
  MPCC5032: 'peer {0} refused this client: it asks for {1} inference(s), the server has {2} left before it stops (--max-inferences)',
  MPCC5033: 'peer {0} refused this client: the helper (party 2) got no connection from it within {1} ms',
  MPCC5034: 'peer {0} is stopping ({1}): the current inference is aborted',
  MPCC5035: 'peer {0} said nothing for {3} ms while its inference {2} was prepared (client {1} of this server session): the prepared inference is abandoned',
  MPCC5036: 'peer {0} gave up this client: it heard nothing from it for {2} ms while its inference {1} was prepared (was this process stopped or suspended?)',
  MPCC5050: 'offline material refused: it belongs to another {0} ({1}), this run is {2}',
  MPCC5051: 'stopped ({0}) during the {1} phase: the inference is abandoned, nothing was written',
  MPCC5052: "internal error: offline material of '{0}' was prepared but no online step took it",
  MPCC5053: "internal error: client-offline step '{0}' ({1}) has no offline dealing: the client-offline mode deals it in the offline phase, never online",
  // 51xx: ring arithmetic kernels modules (runtime/kernels/kernels-module.ts, ring-wasm.ts).
  MPCC5101: 'ring kernels missing at {0}: run `npm run build`, which generates them ({1})',
  MPCC5102: 'kernels module {0} is not a valid WebAssembly module for this runtime: {1}',
  MPCC5103: 'kernels module {0} lacks kernels this runtime calls: {1} (written by another mpcc build?)',
  MPCC5104: 'internal error in the kernel thread: {0}',
  // 52xx: the program executor (runtime/program/).
  MPCC5201: "internal error: step '{0}' receives from party {1} without expectBytes (a merged frame could not be split)",
  MPCC5202: "schedule mismatch: step '{0}' ({1}) started in round {2}, scheduled for round {3}",
  MPCC5203: 'schedule mismatch: {0} took {1} rounds, the program predicts {2}',
  MPCC5204: "no one-time setup for weight layer '{0}'",
  MPCC5205: "weights missing or malformed: '{0}'",
  MPCC5206: "unknown step kind '{0}' (program from another mpcc version?)",
  MPCC5207: 'program format {0} is not supported (this runtime runs format {1})',
  MPCC5208: 'program of party {0} given to party {1}',
  MPCC5209: 'invalid input: {0}',
  MPCC5210: "program refers to value '{0}' that no step produces",
  MPCC5211: "step '{0}' produced {1} values, the program expects {2}",
  MPCC5220: 'artifact {0}: {1}',
  MPCC5221: 'artifacts of another version or model: {0}',
  MPCC5222: 'program {0} refused: {1}: {2}',
  MPCC5223: 'artifact {0}: the public architecture digest {1} does not match its program and kernels ({2})',

  MPCC6001: "node '{0}' ({1}) is not supported in secure inference: {2}",
  MPCC6002: "node '{0}' (Gemm) transposes its activation operand A (transA=1); export the model with transA=0",
  MPCC6003: "node '{0}' (Gemm): bias C of shape [{1}] is not one value per output column",
  MPCC6004: "graph input '{0}' is {1}; secure inference takes float inputs",
  MPCC6005: "the graph is already quantized (node '{0}' is {1}); run quantize once",
  MPCC6006: "constant '{0}' read by node '{1}' holds {2} at index {3}: secure inference takes only finite constants of magnitude below 2^{4} ({5} fractional bits)",

  MPCC6021: "lower needs a quantized graph: {0} (run quantize first)",
  MPCC6022: "node '{0}' ({1}): operand '{2}' must be a constant (P1's weights); products of two secret values are not supported",
  MPCC6023: "node '{0}' ({1}): unknown protocol '{2}'",
  MPCC6024: "node '{0}' ({1}): malformed flow '{2}': {3}",
  MPCC6025: "the graph is not scheduled: node '{0}' ({1}) has no round (run lower,schedule-rounds first)",
  MPCC6026: "'{0}' is not a cost report: {1}",
  MPCC6027: "--client-offline: node '{0}' ({1}) keeps the model out of the client-offline mode: {2}",
  MPCC6028: "--ring {0} needs {1}: a ring smaller than Z_2^64 is safe only where every truncation is exact (the client-offline mode, passes/secure/lower-client-offline.ts)",
  MPCC6029: "--ring {0}: node '{1}' ({2}) cannot run in Z_2^{0}: {3}",
  MPCC6030: "--ring {0}: {1}: such a value wraps, on these samples already, and ruins its inference's output; use --ring auto (Z_2^{2} here), --ring {2}, or fewer --frac-bits",

  MPCC6040: "codegen: node '{0}' ({1}) cannot be generated: {2}",
  MPCC6041: "codegen needs a lowered and scheduled graph: {0} (run lower,schedule-rounds first)",
  MPCC6044: "the parties could not run the model: {0}",
  MPCC6050: "node '{0}' (HardSigmoid): alpha {1} and beta {2} must be finite numbers for secure inference",
  MPCC6060: '--reveal argmax: {0}',
} as const;

/** A diagnostic code of the catalog. */
export type DiagnosticCode = keyof typeof DIAGNOSTICS;

/** Codes that guard an internal invariant no input can reach, so no test provokes them (the
 * catalog test, test/runtime/diagnostics.test.ts, wants every other code named by a test). */
export const INTERNAL_CODES: ReadonlySet<DiagnosticCode> = new Set<DiagnosticCode>([
  // The kernel worker thread failed: its jobs are the ring kernels on buffers this process
  // allocated; only a bug or the engine (out of memory) can make it throw.
  'MPCC5104',
  // Offline material no online step took: the offline phase and the step kinds disagree on
  // which steps have a mask product (runtime/program/offline.ts), a bug of this runtime.
  'MPCC5052',
]);

/** A user error with a catalog code; printed by the CLI as `mpcc: error MPCCnnnn: message`. */
export class MpccError extends Error {
  constructor(readonly code: DiagnosticCode, message: string, readonly location?: string) {
    super(message);
    this.name = 'MpccError';
  }
  /** The one line the CLI prints. */
  format(): string {
    return `error ${this.code}: ${this.location ? this.location + ': ' : ''}${this.message}`;
  }
}

/** A broken internal invariant (a bug in mpcc, not in the user's input). */
export class InternalError extends Error {
  constructor(message: string) {
    super(`internal error: ${message}`);
    this.name = 'InternalError';
  }
}

/** Builds the MpccError of `code` with its template filled by `args`. */
export function diag(code: DiagnosticCode, args: readonly unknown[] = [], location?: string): MpccError {
  return new MpccError(code, fill(code, args), location);
}

/** A failure of the three-party runtime (transport, handshake, protocol framing, executor);
 * `peer`, when set, is the party whose failure or message it is about. */
export class RuntimeError extends MpccError {
  constructor(code: DiagnosticCode, message: string, readonly peer?: PartyId) {
    super(code, message);
    this.name = 'RuntimeError';
  }
}

const ROLES = ['client', 'server', 'helper'] as const;

/** The role name of a party: 0 client, 1 server, 2 helper. */
export function roleOf(id: PartyId): string {
  return ROLES[id];
}

/** "peer 2 (helper)": how messages name a party. */
export function peerName(id: PartyId): string {
  return `${id} (${ROLES[id]})`;
}

/** Builds the RuntimeError of `code`; `peer`, when given, fills `{0}` with its name and is
 * kept on the error so callers can tell which party failed. */
export function runtimeError(code: DiagnosticCode, args: readonly unknown[] = [], peer?: PartyId): RuntimeError {
  const all = peer === undefined ? args : [peerName(peer), ...args];
  return new RuntimeError(code, fill(code, all), peer);
}

/** MPCC0004 for a flag with no value to show (a required flag missing, a switch that does not
 * apply): "flag -o: ..." instead of "invalid value '' for flag -o: ...". */
const NO_VALUE: Partial<Record<DiagnosticCode, string>> = { MPCC0004: 'flag {0}: {2}' };

function fill(code: DiagnosticCode, args: readonly unknown[]): string {
  const template = args[1] === '' && NO_VALUE[code] !== undefined ? NO_VALUE[code]! : DIAGNOSTICS[code];
  return template.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)]));
}
