// The program executor's coded errors (MPCC52xx): the residual block's programs, each broken
// the way an edited or mismatched program.js would be, run by the three parties in process;
// the first party to fail gives the error. Also the merger's guard against a step that
// receives without saying how many bytes (MPCC5201).
import { expect } from 'chai';
import { createInProcessSessions, runParties } from '../../../runtime/session/connect.js';
import { RoundMerger, runProgram, type Program } from '../../../runtime/program/index.js';
import type { PartyId } from '../../../runtime/session/session.js';
import { residualProgram, residualWeights } from './residual.js';

const x = Array.from({ length: 72 }, (_, i) => Math.sin(i));
const weights = residualWeights(() => 0.25);

interface Caught {
  code?: string;
  message: string;
}

/** Runs the three parties on `edit`ed residual programs; the error the run fails with. */
async function failureOf(edit: (p: Program) => void, options: { input?: boolean; weights?: Map<string, BigUint64Array> } = {}): Promise<Caught> {
  const ss = await createInProcessSessions();
  const outcome = await runParties(ss, (s) => {
    const prog = residualProgram(s.id);
    edit(prog);
    return runProgram(s, prog, { input: s.id === 0 && options.input !== false ? x : null, weights: s.id === 1 ? (options.weights ?? weights) : undefined });
  }).then(
    () => null,
    (e: Caught) => e,
  );
  expect(outcome, 'the run should fail').to.not.equal(null);
  return outcome!;
}

/** Edits only party `id`'s program. */
const onParty = (id: PartyId, edit: (p: Program) => void) => (p: Program) => (p.party === id ? edit(p) : undefined);

describe('program executor: coded errors of bad programs', function () {
  this.timeout(20000);

  it('runs the unedited programs (the cases below fail for their edit alone)', async () => {
    const ss = await createInProcessSessions();
    const r = await runParties(ss, (s) => runProgram(s, residualProgram(s.id), { input: s.id === 0 ? x : null, weights: s.id === 1 ? weights : undefined }));
    expect(r[0].outputs.get('y')).to.have.length(72);
  });

  it('MPCC5207 for a program of another format', async () => {
    const e = await failureOf((p) => (p.format = 99));
    expect(e.code).to.equal('MPCC5207');
    expect(e.message).to.match(/^program format 99 is not supported \(this runtime runs format \d+\)$/);
  });

  it("MPCC5208 for another party's program", async () => {
    const e = await failureOf(onParty(0, (p) => (p.party = 1)));
    expect(e.code).to.equal('MPCC5208');
    expect(e.message).to.equal('program of party 1 given to party 0');
  });

  it('MPCC5205 when P1 lacks a weight layer', async () => {
    const e = await failureOf(() => undefined, { weights: new Map([...weights].filter(([k]) => k !== 'S.W')) });
    expect(e.code).to.equal('MPCC5205');
    expect(e.message).to.equal("weights missing or malformed: 'S.W'");
  });

  it('MPCC5205 when a bias does not repeat over its product', async () => {
    const e = await failureOf((p) => (p.steps.find((s) => s.name === 'convA')!.params.inner = 0));
    expect(e.code).to.equal('MPCC5205');
    expect(e.message).to.equal("weights missing or malformed: 'A.B (3 values for 108 elements, inner 0)'");
  });

  it('MPCC5204 for a weights step whose layer has no one-time setup', async () => {
    const e = await failureOf((p) => (p.steps.find((s) => s.name === 'convB')!.params.layer = 'Z'));
    expect(e.code).to.equal('MPCC5204');
    expect(e.message).to.equal("no one-time setup for weight layer 'Z'");
  });

  it('MPCC5206 for an unknown step kind', async () => {
    const e = await failureOf((p) => (p.steps.find((s) => s.name === 'sum')!.kind = 'multiply'));
    expect(e.code).to.equal('MPCC5206');
    expect(e.message).to.equal("unknown step kind 'multiply' (program from another mpcc version?)");
  });

  it('MPCC5209 when party 0 has no input', async () => {
    const e = await failureOf(() => undefined, { input: false });
    expect(e.code).to.equal('MPCC5209');
    expect(e.message).to.equal('invalid input: party 0 needs the input');
  });

  it('MPCC5210 for a step reading a value no step produces', async () => {
    const e = await failureOf((p) => (p.steps.find((s) => s.name === 'sum')!.inputs = ['b', 'q']));
    expect(e.code).to.equal('MPCC5210');
    expect(e.message).to.equal("program refers to value 'q' that no step produces");
  });

  it('MPCC5210 for an output no step reveals', async () => {
    const e = await failureOf(onParty(0, (p) => (p.outputs[0].value = 'b')));
    expect(e.code).to.equal('MPCC5210');
    expect(e.message).to.equal("program refers to value 'b' that no step produces");
  });

  it('MPCC5211 for a step declaring more results than it makes', async () => {
    const e = await failureOf((p) => p.steps.find((s) => s.name === 'truncS')!.outputs.push('s_extra'));
    expect(e.code).to.equal('MPCC5211');
    expect(e.message).to.equal("step 'truncS' produced 1 values, the program expects 2");
  });

  it('MPCC5203 when the rounds differ from the program', async () => {
    const inference = await failureOf((p) => (p.rounds = 7));
    expect(inference.code).to.equal('MPCC5203');
    expect(inference.message).to.equal('schedule mismatch: inference took 6 rounds, the program predicts 7');
    const setup = await failureOf((p) => (p.oneTimeRounds = 2));
    expect(setup.code).to.equal('MPCC5203');
    expect(setup.message).to.equal('schedule mismatch: one-time setup took 1 rounds, the program predicts 2');
  });

  it('MPCC5201 for a step that receives without the length of its part', async () => {
    const ss = await createInProcessSessions();
    const step = new RoundMerger(ss[0]).open('probe', 0);
    const e = await step.round([], [1]).then(() => null, (err: Caught) => err);
    expect(e?.code).to.equal('MPCC5201');
    expect(e?.message).to.equal("internal error: step 'probe' receives from party 1 without expectBytes (a merged frame could not be split)");
    await Promise.all(ss.map((s) => s.close()));
  });
});
