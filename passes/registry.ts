// The registry of passes and named pipelines, by name. Pass files register nothing by
// themselves: passes/index.ts registers the built-in ones in one readable list.
import { InternalError } from '../runtime/diagnostics.js';
import type { AnyPass } from './pass.js';

/** A named pipeline: a name standing for a list of passes (`canonicalize`). */
export interface NamedPipeline {
  readonly name: string;
  readonly summary: string;
  /** The pipeline it expands to, in pipeline syntax. */
  readonly pipeline: string;
}

const passes = new Map<string, AnyPass>();
const pipelines = new Map<string, NamedPipeline>();

/** Adds passes to the registry; a name may be registered once. */
export function registerPass(...list: AnyPass[]): void {
  for (const p of list) {
    if (passes.has(p.name) || pipelines.has(p.name)) throw new InternalError(`pass '${p.name}' is registered twice`);
    passes.set(p.name, p);
  }
}

/** Adds a named pipeline; its name shares the namespace of passes. */
export function registerPipeline(named: NamedPipeline): void {
  if (passes.has(named.name) || pipelines.has(named.name)) throw new InternalError(`pipeline '${named.name}' is registered twice`);
  pipelines.set(named.name, named);
}

/** The pass called `name`, or undefined. */
export function lookupPass(name: string): AnyPass | undefined {
  return passes.get(name);
}

/** The named pipeline called `name`, or undefined. */
export function lookupPipeline(name: string): NamedPipeline | undefined {
  return pipelines.get(name);
}

/** All pass and pipeline names, sorted (for "known: ..." in diagnostics and --help). */
export function registeredNames(): string[] {
  return [...passes.keys(), ...pipelines.keys()].sort();
}

/** Every registered pass, sorted by name. */
export function registeredPasses(): AnyPass[] {
  return [...passes.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Every named pipeline, sorted by name. */
export function registeredPipelines(): NamedPipeline[] {
  return [...pipelines.values()].sort((a, b) => a.name.localeCompare(b.name));
}
