// The building blocks of program.json's validation (validate.ts, validate-layout.ts): typed
// field checks that throw a Refusal naming the field, and the limits every program must keep.

/** Limits on a program: far above any model mpcc compiles, far below what would exhaust memory. */
export const PROGRAM_LIMITS = {
  /** Bytes of program.json. */
  fileBytes: 64 << 20,
  steps: 200_000,
  setup: 20_000,
  outputs: 64,
  /** Operands or results of one step. */
  operands: 1024,
  /** Elements of one value (a shape's product, a step's size). */
  elements: 1 << 28,
  /** Characters of a name (value, step, op, weight key). */
  name: 1024,
  /** Nesting depth and entries of a step's parameters. */
  depth: 6,
  entries: 1 << 16,
  /** Dimensions of a shape. */
  rank: 8,
  /** Rounds of a program. */
  rounds: 1 << 20,
} as const;

/** A parsed JSON value, not yet trusted. */
export type Json = unknown;

/** A refusal at `field` of `file`. */
export class Refusal {
  constructor(readonly field: string, readonly problem: string) {}
}

/** Refuses the program at `field`. */
export const fail = (field: string, problem: string): never => {
  throw new Refusal(field, problem);
};

/** An object (not null, not an array). */
export function object(v: Json, field: string): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'expected an object');
  return v as Record<string, Json>;
}

/** An array of at most `max` entries. */
export function array(v: Json, field: string, max: number): Json[] {
  if (!Array.isArray(v)) fail(field, 'expected an array');
  if ((v as Json[]).length > max) fail(field, `${(v as Json[]).length} entries, at most ${max}`);
  return v as Json[];
}

/** An integer within [min, max]. */
export function int(v: Json, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `expected an integer, got ${describe(v)}`);
  if ((v as number) < min || (v as number) > max) fail(field, `${v as number} is outside [${min}, ${max}]`);
  return v as number;
}

/** A name: a non-empty string of printable characters (no control characters), bounded. */
export function name(v: Json, field: string): string {
  if (typeof v !== 'string') fail(field, `expected a name (string), got ${describe(v)}`);
  const s = v as string;
  if (s.length === 0 || s.length > PROGRAM_LIMITS.name) fail(field, `a name of ${s.length} characters (1 to ${PROGRAM_LIMITS.name})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) fail(field, 'a name with control characters');
  return s;
}

/** A shape: at most `rank` dimensions, at most `elements` elements. */
export function shape(v: Json, field: string): number[] {
  const dims = array(v, field, PROGRAM_LIMITS.rank).map((d, i) => int(d, `${field}[${i}]`, 0, PROGRAM_LIMITS.elements));
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > PROGRAM_LIMITS.elements) fail(field, `${n} elements, at most ${PROGRAM_LIMITS.elements}`);
  return dims;
}

/** A short rendering of a refused value. */
export function describe(v: Json): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}


/** Integers of a fixed count, each within [min, max]. */
export function ints(v: Json, field: string, count: number, min: number, max: number = PROGRAM_LIMITS.elements): number[] {
  const a = array(v, field, count);
  if (a.length !== count) fail(field, `${a.length} entries, expected ${count}`);
  return a.map((x, i) => int(x, `${field}[${i}]`, min, max));
}

/** Refuses every key of `o` not in `allowed` (a per-field schema is closed). */
export function only(o: Record<string, Json>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${field}.${k}`, 'unknown field');
}
