// Lexical rules of the textual IR (.mir) that the printer and the parser must agree on: how
// names are quoted, how numbers are spelled so they re-parse to the same value, and how an
// error is shown with its source line and a caret.
import { MpccError } from '../runtime/diagnostics.js';

/** Version written on the first line (`mir 1`); the parser accepts only this one. */
export const MIR_VERSION = 1;

/** Words the grammar reserves; attribute keys spelled like them are quoted. */
export const MIR_KEYWORDS: readonly string[] = ['mir', 'graph', 'const', 'weights', 'none', 'inf', 'nan'];

/** A value or graph name that needs no quotes after `%` / `@`: ASCII letters, digits, `_ . $ -`
 * and single slashes (a `//` would start a comment). */
export const BARE_NAME = /^(?:[A-Za-z0-9_.$-]|\/(?!\/))+$/;

/** An attribute key or op name that needs no quotes. */
export const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A string literal: JSON syntax (escapes for quotes, backslashes, control characters and lone
 * surrogates), other Unicode kept as is for readability. */
export function quoteString(s: string): string {
  return JSON.stringify(s);
}

/** `%name` or `%"quoted name"`. */
export function formatValueName(name: string): string {
  return '%' + (BARE_NAME.test(name) ? name : quoteString(name));
}

/** `@name` or `@"quoted name"`. */
export function formatGraphName(name: string): string {
  return '@' + (BARE_NAME.test(name) ? name : quoteString(name));
}

/** An attribute key, quoted when it is not an identifier or is a keyword. */
export function formatKey(key: string): string {
  return BARE_KEY.test(key) && !MIR_KEYWORDS.includes(key) ? key : quoteString(key);
}

/** A float64 spelled so it re-parses to the same float64 (shortest round trip), with `inf`,
 * `-inf`, `nan` and `-0`. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/** A float32 value spelled with the fewest digits that read back to the same float32. */
export function formatFloat32(x: number): string {
  if (!Number.isFinite(x) || x === 0) return formatNumber(x);
  for (let p = 1; p < 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/** An attribute number: as formatNumber, except that a float32 value (as ONNX float
 * attributes are) whose float32 spelling is shorter is written with an `f` suffix, `0.00001f`
 * rather than `0.000009999999747378752`; the suffix reads back as that float32, exactly. */
export function formatAttrNumber(x: number): string {
  const plain = formatNumber(x);
  if (!Number.isFinite(x) || Math.fround(x) !== x) return plain;
  const short = formatFloat32(x);
  return short.length + 1 < plain.length ? short + 'f' : plain;
}

/** Reads a number token (`1`, `-2.5e-3`, `1e-5f`, `inf`, `-inf`, `nan`). */
export function parseNumber(image: string): number {
  if (image === 'inf') return Infinity;
  if (image === '-inf') return -Infinity;
  if (image === 'nan') return NaN;
  if (image.endsWith('f')) return Math.fround(Number(image.slice(0, -1)));
  return Number(image);
}

/** A position in a source text (1-based line and column). */
export interface SourceLoc {
  readonly line: number;
  readonly col: number;
}

/** The error `e` at `loc` of `text`: location `file:line:col`, message = e's message (its
 * catalog template filled), then the source line and a caret under it. */
export function locatedError(e: MpccError, text: string, file: string, loc: SourceLoc): MpccError {
  const lines = text.split(/\r\n|\r|\n/);
  const line = lines[loc.line - 1] ?? '';
  // Keep tabs in the caret's indentation so the caret lines up however tabs are shown.
  const pad = line.slice(0, loc.col - 1).replace(/[^\t]/g, ' ');
  return new MpccError(e.code, `${e.message}\n  ${line}\n  ${pad}^`, `${file}:${loc.line}:${loc.col}`);
}
