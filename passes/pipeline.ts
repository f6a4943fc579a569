// Pipeline strings: `canonicalize,relu6-to-relu,fold-constants{max-size=1000000}`.
//   pipeline := step (',' step)*        (an empty or blank string is the empty pipeline)
//   step     := NAME ('{' option (',' option)* '}')?
//   option   := NAME ('=' VALUE)?       (a bare option name means `=true`)
//   VALUE    := bare text without , { } = " or whitespace | a JSON string "..."
// Names of named pipelines expand in place. Unknown passes, unknown options, bad values and
// syntax errors are user errors MPCC4001..MPCC4004.
import { diag } from '../runtime/diagnostics.js';
import type { AnyPass, OptionSpec, OptionValue, OptionValues } from './pass.js';
import { lookupPass, lookupPipeline, registeredNames } from './registry.js';
import './builtins.js'; // the built-in passes, so a pipeline string can name them

/** One pass of a parsed pipeline, with every option resolved. */
export interface PipelineStep {
  readonly pass: AnyPass;
  readonly options: Readonly<OptionValues>;
  /** The named pipeline this step came from (`canonicalize`), if any. */
  readonly via?: string;
}

interface RawStep {
  name: string;
  options: [string, string][];
}

/** Parses and resolves a pipeline string against the registry. */
export function parsePipeline(text: string): PipelineStep[] {
  return expand(text, syntax(text), undefined, []);
}

/** A step spelled back in pipeline syntax, showing options that differ from their defaults. */
export function formatStep(step: PipelineStep): string {
  const specs = step.pass.options as Record<string, OptionSpec>;
  const opts = Object.entries(step.options)
    .filter(([k, v]) => specs[k]?.default !== v)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/^[^,{}="\s]+$/.test(v) ? JSON.stringify(v) : String(v)}`);
  return opts.length ? `${step.pass.name}{${opts.join(',')}}` : step.pass.name;
}

function expand(text: string, raw: RawStep[], via: string | undefined, stack: string[]): PipelineStep[] {
  const out: PipelineStep[] = [];
  for (const r of raw) {
    const pass = lookupPass(r.name);
    if (pass) {
      out.push({ pass, options: resolveOptions(pass, r.options), via });
      continue;
    }
    const named = lookupPipeline(r.name);
    if (!named) throw diag('MPCC4001', [r.name, registeredNames().join(', ')]);
    if (r.options.length) throw diag('MPCC4002', [r.name, r.options[0][0], '(none: it is a named pipeline)']);
    if (stack.includes(r.name)) throw diag('MPCC4004', [text, `pipeline '${r.name}' includes itself`]);
    out.push(...expand(named.pipeline, syntax(named.pipeline), via ?? r.name, [...stack, r.name]));
  }
  return out;
}

function resolveOptions(pass: AnyPass, given: [string, string][]): OptionValues {
  const specs = pass.options as Record<string, OptionSpec>;
  const values: OptionValues = {};
  for (const [k, spec] of Object.entries(specs)) values[k] = spec.default;
  const seen = new Set<string>();
  for (const [key, text] of given) {
    const spec = specs[key];
    if (!spec) throw diag('MPCC4002', [pass.name, key, Object.keys(specs).join(', ') || '(none)']);
    if (seen.has(key)) throw diag('MPCC4003', [pass.name, key, text, 'the option is given twice']);
    seen.add(key);
    const converted = convertOption(spec, text);
    const problem = 'problem' in converted ? converted.problem : spec.check?.(converted.value);
    if (problem !== undefined || 'problem' in converted) throw diag('MPCC4003', [pass.name, key, text, problem]);
    values[key] = converted.value;
  }
  return values;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** The option's value read from `text` by its kind, or why `text` is not one. */
function convertOption(spec: OptionSpec, text: string): { value: OptionValue } | { problem: string } {
  switch (spec.kind) {
    case 'int': {
      // 1000000, 1_000_000 and 1e6 all spell the same integer
      const digits = text.replace(/_/g, '');
      const v = Number(digits);
      return NUMBER.test(digits) && Number.isSafeInteger(v) ? { value: v } : { problem: 'expected an integer' };
    }
    case 'float':
      if (/^[+-]?inf$/.test(text)) return { value: text.startsWith('-') ? -Infinity : Infinity };
      return NUMBER.test(text) ? { value: Number(text) } : { problem: 'expected a number' };
    case 'bool':
      if (text === 'true' || text === '1') return { value: true };
      if (text === 'false' || text === '0') return { value: false };
      return { problem: 'expected true or false' };
    case 'string':
      return { value: text };
  }
}

/** Splits a pipeline string into steps and raw option texts; throws MPCC4004 with a column. */
function syntax(text: string): RawStep[] {
  let pos = 0;
  const fail = (what: string): never => {
    const found = pos < text.length ? `'${text[pos]}'` : 'the end';
    throw diag('MPCC4004', [text, `expected ${what} at column ${pos + 1}, found ${found}`]);
  };
  const blanks = () => { while (pos < text.length && /\s/.test(text[pos])) pos++; };
  const name = (what: string): string => {
    const m = /^[A-Za-z0-9_.-]+/.exec(text.slice(pos));
    if (!m) return fail(what);
    pos += m[0].length;
    return m[0];
  };
  const value = (): string => {
    if (text[pos] === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(pos));
      if (!m) return fail('a closing \'"\'');
      pos += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    const m = /^[^,{}="\s]+/.exec(text.slice(pos));
    if (!m) return fail('an option value');
    pos += m[0].length;
    return m[0];
  };
  const steps: RawStep[] = [];
  blanks();
  if (pos === text.length) return steps;
  for (;;) {
    const step: RawStep = { name: name('a pass name'), options: [] };
    blanks();
    if (text[pos] === '{') {
      pos++;
      for (;;) {
        blanks();
        const key = name('an option name');
        blanks();
        let v = 'true';
        if (text[pos] === '=') {
          pos++;
          blanks();
          v = value();
          blanks();
        }
        step.options.push([key, v]);
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === '}') { pos++; break; }
        fail("',' or '}'");
      }
      blanks();
    }
    steps.push(step);
    if (pos === text.length) return steps;
    if (text[pos] !== ',') fail("',' or the end of the pipeline");
    pos++;
    blanks();
  }
}
