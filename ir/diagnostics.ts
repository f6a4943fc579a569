// The catalog of user-facing diagnostics of the compiler side (CLI, ONNX import, IR, passes).
// A user error is an MpccError: a code, a message built from a template, and an optional
// location; the CLI prints it on one line with no stack trace. A broken internal invariant
// throws InternalError instead. The runtime has its own catalog (runtime/errors.ts) because
// it never imports the compiler.
//
// Code ranges: 0xxx CLI and files, 1xxx ONNX import, 2xxx IR and textual IR, 3xxx interpreter
// and .npy, 4xxx passes and planning, 6xxx compile and artifacts (5xxx is the runtime's).

/** Templates of all compiler-side diagnostics; `{0}`, `{1}`… are filled by `diag`. */
export const DIAGNOSTICS = {
  MPCC0001: 'the compiled CLI is missing; run `npm run build` first',
  MPCC0002: "cannot read file '{0}': {1}",
  MPCC0003: "cannot write file '{0}': {1}",
  MPCC0004: "invalid value '{1}' for flag {0}: {2}",
  MPCC0005: "unknown model '{0}' (known: {1})",
  MPCC0006: "unsupported file type '{0}': expected {1}",

  MPCC1001: "ONNX operator '{0}' (opset {1}) at node '{2}' is not supported",
  MPCC1002: "'{0}' is not a valid ONNX model: {1}",
  MPCC1003: "ONNX opset {0} of '{1}' is not supported (supported: {2})",
  MPCC1004: "input '{0}' has symbolic dimension '{1}'; fix it with --input-shape",
  MPCC1005: "external data file '{0}' for tensor '{1}' is missing",
  MPCC1006: "node '{0}' ({1}): {2}",
  MPCC1007: "tensor '{0}' has unsupported data type {1}",
  MPCC1008: "invalid --input-shape '{0}': {1}",
  MPCC1009: "value '{0}' used by node '{1}' is not defined",

  MPCC2001: '{0}',
  MPCC2002: "IR verification failed at node '{0}' ({1}): {2}",
  MPCC2003: "IR verification failed: {0}",
  MPCC2004: "weights file '{0}': {1}",
  MPCC2005: '{0}',

  MPCC3001: "'{0}' is not a valid .npy file: {1}",
  MPCC3002: "input '{0}' has shape [{1}] but the model expects [{2}]",
  MPCC3003: "input '{0}' has dtype {1} but the model expects float32",
  MPCC3004: "interpreter: node '{0}' ({1}): {2}",

  MPCC4001: "unknown pass '{0}' (known: {1})",
  MPCC4002: "pass '{0}': unknown option '{1}' (known: {2})",
  MPCC4003: "pass '{0}': invalid option {1}={2}: {3}",
  MPCC4004: "invalid pass pipeline '{0}': {1}",
  MPCC4005: "the IR is invalid after pass '{0}': {1}",

  MPCC6001: "node '{0}' ({1}) is not supported in secure inference: {2}",
  MPCC6002: "node '{0}' (Gemm) transposes its activation operand A (transA=1); export the model with transA=0",
  MPCC6003: "node '{0}' (Gemm): bias C of shape [{1}] is not one value per output column",
  MPCC6004: "graph input '{0}' is {1}; secure inference takes float inputs",
  MPCC6005: "the graph is already quantized (node '{0}' is {1}); run quantize once",

  MPCC6020: "node '{0}' ({1}) is not supported in secure inference: {2}",
  MPCC6021: "lower needs a quantized graph: {0} (run quantize first)",
  MPCC6022: "node '{0}' ({1}): operand '{2}' must be a constant (P1's weights); products of two secret values are not supported",
  MPCC6023: "node '{0}' ({1}): unknown protocol '{2}'",
  MPCC6024: "node '{0}' ({1}): malformed flow '{2}': {3}",
  MPCC6025: "the graph is not scheduled: node '{0}' ({1}) has no round (run lower,schedule-rounds first)",
  MPCC6026: "'{0}' is not a cost report: {1}",

  MPCC6040: "codegen: node '{0}' ({1}) cannot be generated: {2}",
  MPCC6041: "codegen needs a lowered and scheduled graph: {0} (run lower,schedule-rounds first)",
  MPCC6042: "compiled model '{0}': {1}",
  MPCC6043: "input '{0}': {1}",
  MPCC6044: "the parties could not run the model: {0}",
} as const;

/** A diagnostic code of the catalog. */
export type DiagnosticCode = keyof typeof DIAGNOSTICS;

/** A user error with a catalog code; printed by the CLI as `mpcc: error MPCCnnnn: message`. */
export class MpccError extends Error {
  constructor(readonly code: string, message: string, readonly location?: string) {
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
  const text = DIAGNOSTICS[code].replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)]));
  return new MpccError(code, text, location);
}
