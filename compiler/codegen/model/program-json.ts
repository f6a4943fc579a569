// Codegen of party{0,1,2}/program.json: a party's Program as data (runtime/program's
// parseProgram validates it and runProgram interprets it; nothing ever executes it). JSON
// with one setup or inference step per line in schedule order, so the file reads as the
// schedule; the keys in the order of the Program object, so the architecture digest the
// compiler computes (manifest.ts) is the one the runtime recomputes from the parsed file.
import type { Program } from '../../../runtime/program/program.js';

/** The text of program.json for `p`. */
export function renderProgramJson(p: Program): string {
  const j = (v: unknown) => JSON.stringify(v);
  const list = (items: readonly unknown[]) => (items.length === 0 ? '[]' : `[\n${items.map((s) => `    ${j(s)}`).join(',\n')}\n  ]`);
  const lines = [
    '{',
    `  "format": ${p.format},`,
    `  "party": ${p.party},`,
    `  "frac": ${p.frac},`,
    // the ring only when smaller than Z_2^64, so a Z_2^64 program is unchanged
    ...(p.ring !== undefined ? [`  "ring": ${p.ring},`] : []),
    `  "input": ${j(p.input)},`,
    `  "outputs": ${j(p.outputs)},`,
    `  "setup": ${list(p.setup)},`,
    `  "steps": ${list(p.steps)},`,
    `  "rounds": ${p.rounds},`,
    `  "oneTimeRounds": ${p.oneTimeRounds}`,
    '}',
    '',
  ];
  return lines.join('\n');
}
