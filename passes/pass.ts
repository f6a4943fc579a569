// What a pass is: a named, documented IR → IR transformation with typed options, run by the
// pass manager (passes/manager.ts) on behalf of a pipeline string (passes/pipeline.ts).
import type { Graph } from '../ir/graph.js';
import { InternalError } from '../runtime/diagnostics.js';

/** A value an option can take in a pipeline string. */
export type OptionValue = number | boolean | string;

/** Kind of an option, as the pipeline parser reads its text. */
export type OptionKind = 'int' | 'float' | 'bool' | 'string';

/** Declaration of one pass option: kind, default, doc line and an optional extra check. */
export interface OptionSpec<T extends OptionValue = OptionValue> {
  readonly kind: OptionKind;
  readonly default: T;
  readonly doc: string;
  /** Why `value` is not acceptable (beyond its kind), or undefined when it is. */
  check?(value: T): string | undefined;
}

/** Option declarations of a pass, one per option name (kebab-case, as written in pipelines). */
export type OptionSpecs<O> = { readonly [K in keyof O]: OptionSpec<O[K] & OptionValue> };

/** Options of a pass as resolved values, every option present. */
export type OptionValues = Record<string, OptionValue>;

/** What a running pass sees besides the graph: its options and a statistics sink. */
export interface PassContext<O = OptionValues> {
  readonly options: Readonly<O>;
  /** Adds `count` (default 1) to the statistic `label` ("batch-norms folded"). */
  stat(label: string, count?: number): void;
}

/** An IR → IR transformation with a kebab-case name and a one-sentence contract. */
export interface Pass<O = OptionValues> {
  /** kebab-case, as written in pipeline strings. */
  readonly name: string;
  /** One sentence: what the pass assumes and what it guarantees. */
  readonly summary: string;
  readonly options: OptionSpecs<O>;
  /** Returns the transformed graph (the same object when nothing changed). */
  run(graph: Graph, ctx: PassContext<O>): Graph;
}

/** A pass with its option types erased, as the registry and pipelines hold it. */
export type AnyPass = Pass<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Declares a pass; only checks the shape of the declaration and keeps option types. */
export function definePass<O extends OptionValues = Record<string, never>>(pass: Pass<O>): Pass<O> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(pass.name)) throw new InternalError(`pass name '${pass.name}' is not kebab-case`);
  return pass;
}

/** A context that collects statistics into `stats`, for running a pass outside the manager. */
export function makeContext<O extends OptionValues>(options: O, stats: Map<string, number> = new Map()): PassContext<O> {
  return {
    options,
    stat(label: string, count = 1) {
      stats.set(label, (stats.get(label) ?? 0) + count);
    },
  };
}
