// A program in a ring smaller than Z_2^64 (program.json's `ring`, runtime/program/validate.ts):
// accepted as codegen writes it, and refused (MPCC5222 naming the field) when its ring is none of
// 32, 40, 48, 56, 64, when a setup step or a step carrying ring elements names another ring or none,
// when a step of another kind names one, when the program is not client-offline, when a helper's
// window reaches past the ring, or when a step would read bits above the ring (a local truncation).
import { expect } from 'chai';
import { generatePrograms } from '../../../compiler/codegen/model/program-gen.js';
import { runPipeline } from '../../../passes/index.js';
import { parseProgram, type Program } from '../../../runtime/program/index.js';
import { residualGraph } from '../../passes/secure/secure-graphs.js';

const program = (pipeline: string): Program => generatePrograms(runPipeline(residualGraph(), pipeline).graph).programs[1];
const ring40 = program('lower{client-offline=true,ring=40},schedule-rounds');
const classic = program('lower,schedule-rounds');

/** parseProgram's refusal of `p` edited by `f` (the message), or 'ok'. */
function refusal(p: Program, f: (q: Program) => void): string {
  const q = JSON.parse(JSON.stringify(p)) as Program;
  f(q);
  try {
    parseProgram(JSON.stringify(q), 'party1/program.json', 1);
    return 'ok';
  } catch (e) {
    expect((e as { code?: string }).code).to.equal('MPCC5222');
    return (e as Error).message;
  }
}

const step = (p: Program, kind: string) => p.steps.find((st) => st.kind === kind)!;

describe('program.json in a smaller ring: validated', () => {
  it('accepts the programs codegen writes (ring 40, and Z_2^64 without the field)', () => {
    expect(refusal(ring40, () => undefined)).to.equal('ok');
    expect(refusal(classic, () => undefined)).to.equal('ok');
    expect(ring40.ring).to.equal(40);
    expect('ring' in classic).to.equal(false);
    // 64 written out is the default itself
    expect(refusal(classic, (q) => (q.ring = 64))).to.equal('ok');
  });

  const cases: [string, Program, (q: Program) => void, string][] = [
    ['a ring of other bits', ring40, (q) => ((q as { ring: number }).ring = 36), "program party1/program.json refused: ring: 36 bits, expected one of 32, 40, 48, 56, 64"],
    ['a setup step of another ring', ring40, (q) => (q.setup[0].ring = 48), 'setup[0].ring: Z_2^48, the program runs in Z_2^40'],
    ['a setup step without the ring', ring40, (q) => delete q.setup[2].ring, 'setup[2].ring: missing (the program runs in Z_2^40)'],
    ['a reveal without the ring', ring40, (q) => delete step(q, 'reveal').params.ring, `steps[${ring40.steps.findIndex((st) => st.kind === 'reveal')}].params.ring: missing (the program runs in Z_2^40)`],
    ['a helper selection of another ring', ring40, (q) => (step(q, 'helperSelect').params.ring = 56), `steps[${ring40.steps.findIndex((st) => st.kind === 'helperSelect')}].params.ring: Z_2^56, the program runs in Z_2^40`],
    ['a ring on a step whose messages carry no ring element', ring40, (q) => (q.steps[0].params.ring = 40), "steps[0].params.ring: not a parameter of a 'input' step"],
    ['a ring on the steps of a Z_2^64 program', classic, (q) => (step(q, 'weights').params.ring = 40), 'Z_2^40, the program runs in Z_2^64'],
    ['a classic program in a smaller ring', classic, (q) => {
      q.ring = 40;
      for (const st of q.setup) st.ring = 40;
      for (const st of q.steps) if (['weights', 'weightsSharedMask', 'reveal'].includes(st.kind)) st.params.ring = 40;
    }, 'ring: Z_2^40 needs a client-offline program'],
    ['a helper window past the ring', ring40, (q) => (step(q, 'helperSelect').params.window = { lo: 12, k: 30 }), `steps[${ring40.steps.findIndex((st) => st.kind === 'helperSelect')}].params.window: bits [12, 42) reach beyond the ring Z_2^40`],
    ['a local truncation', ring40, (q) => {
      const st = step(q, 'truncateClientOffline');
      st.kind = 'truncate';
      delete st.params.ring;
    }, `steps[${ring40.steps.findIndex((st) => st.kind === 'truncateClientOffline')}].kind: a 'truncate' step cannot run in Z_2^40 (the program's ring): it reads bits above the ring`],
  ];
  for (const [what, p, f, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(refusal(p, f)).to.contain(message);
    });
  }
});
