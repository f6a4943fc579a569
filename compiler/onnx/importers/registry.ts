// The table of ONNX operator importers: one entry per operator with the opset range it is
// pinned to. An operator missing from the table, or a model opset outside an entry's range,
// is reported as unsupported (MPCC1001) with the operator, opset and node.
import type { ImportContext } from '../context.js';

/** How one ONNX operator becomes IR. */
export interface OpImporter {
  /** First default-domain opset this entry handles. */
  readonly since: number;
  /** Last opset handled (inclusive). */
  readonly until: number;
  /** Emits the IR for ctx.node (or records its outputs as constants). */
  run(ctx: ImportContext): void;
}

const table = new Map<string, OpImporter>();

/** Adds importers by ONNX operator name. */
export function defineImporters(entries: Record<string, OpImporter>): void {
  for (const [op, imp] of Object.entries(entries)) table.set(op, imp);
}

/** The importer of `opType` at `opset`, or undefined. */
export function lookupImporter(opType: string, opset: number): OpImporter | undefined {
  const imp = table.get(opType);
  return imp && opset >= imp.since && opset <= imp.until ? imp : undefined;
}

/** Names of all operators with an importer, sorted. */
export function importedOperators(): string[] {
  return [...table.keys()].sort();
}

/** Lowest and highest model opset the importer accepts. */
export const OPSET_RANGE = [7, 20] as const;

/** An importer for every opset the importer accepts. */
export function always(run: (ctx: ImportContext) => void): OpImporter {
  return { since: OPSET_RANGE[0], until: OPSET_RANGE[1], run };
}
