// Selections in a smaller ring inside a wider program (compiler/ring-choice.ts NARROW_RINGS,
// lower-client-offline.ts window_ring and SecureLift): with --calib, a client-offline program in
// Z_2^48 runs its selections with no truncation folded in (a MaxPool's tree levels, the ReLU after
// the pool) in Z_2^24 or Z_2^32, the smallest that holds their values (brute force here: the
// fixed-point interpreter's values), and lifts their value back before the next product. Checked
// against the same program compiled without calibration samples (every step in Z_2^48): which steps
// narrow, their flows by hand (r/8 B per ring element instead of 6, the full window at r bits, the
// lift's (48 − r)-bit pads), the secure run against the fixed-point interpreter with counters equal
// to cost.json, no narrowing where the values do not fit, and the validator's refusals of a program
// that reads a smaller ring's value unlifted.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { readCostJson } from '../../../compiler/commands/cost.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { tensorOf } from '../../../ir/tensor.js';
import { makeNode, replaceGraph } from '../../../ir/graph.js';
import { runPipeline } from '../../../passes/index.js';
import { parseProgram } from '../../../runtime/program/validate.js';
import type { Program } from '../../../runtime/program/program.js';
import { rng } from '../../passes/util.js';
import { maxAbsDiff, nodeFlows, runCheckedRuns } from '../../e2e/support.js';
import { suiteTempDir } from '../../temp-dir.js';
import { FRAC, N, SAMPLES, calibration, programOf, quantizedTiny, stepsOf } from './tiny-rings.js';

describe('selections in a smaller ring inside a wider program (window_ring, SecureLift)', function () {
  this.timeout(300000);
  const tmp = suiteTempDir('mpcc-narrow-');
  let dir = '';
  const file = (name: string) => join(dir, name);
  let note = '';
  before(() => {
    dir = tmp();
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    calibration(file('calib.npy'), 1);
    calibration(file('huge.npy'), 4000);
    note = runCompile(file('tiny.onnx'), { output: file('narrow'), clientOffline: true, ring: '48', calib: file('calib.npy'), fracBits: FRAC, quiet: true }).notes.join('\n');
    runCompile(file('tiny.onnx'), { output: file('wide'), clientOffline: true, ring: '48', fracBits: FRAC, quiet: true });
  });

  it('the selections with no truncation folded in run in the smallest ring that holds their values (brute force), the others in the program\'s Z_2^48, and one lift brings the pool\'s value back before the product reading it', () => {
    expect(note).to.match(/select in Z_2\^24, lifted back after/);
    const narrow = stepsOf(file('narrow'), 'helperSelect');
    const wide = stepsOf(file('wide'), 'helperSelect');
    expect(wide.every((s) => s.params.ring === 48)).to.equal(true);
    // brute force: the largest |value| the pool's tree and the ReLU behind it make on the samples
    // (the fixed-point interpreter on the quantized graph), 8 times under 2^(r − 2)
    const q = quantizedTiny(file('tiny.onnx'));
    const poolValues = q.nodes.filter((n) => n.name.includes('MaxPool') || n.name === '/relu1/Relu').flatMap((n) => n.outputs);
    const watched = { ...q, outputs: [...q.outputs, ...poolValues] };
    const rand = rng(11);
    let largest = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const x = Float32Array.from({ length: N }, () => 2 * rand() - 1);
      const run = runGraphFixed(watched, { [q.inputs[0]]: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC, keep: 'outputs' });
      for (const v of poolValues) for (const w of run.ring.get(v)!.data as BigUint64Array) largest = Math.max(largest, Math.abs(Number(BigInt.asIntN(64, w))));
    }
    const want = [24, 32].find((r) => largest * 8 < 2 ** (r - 2));
    expect(want).to.equal(24);
    // bits 0 (no truncation folded in): the pool's tree levels and the ReLU behind the pool
    expect(narrow.map((s) => [s.name, s.params.ring])).to.deep.equal(wide.map((s) => [s.name, s.params.bits === 0 ? want : 48]));
    expect(narrow.filter((s) => s.params.ring === want).length).to.be.at.least(2);
    const lifts = stepsOf(file('narrow'), 'truncateClientOffline').filter((s) => s.params.lift === true);
    expect(lifts.length).to.equal(1);
    expect(lifts[0].params.bits).to.equal(48 - want!);
    const last = narrow.filter((s) => s.params.ring === want).at(-1)!;
    expect(lifts[0].inputs).to.deep.equal(last.outputs);
    // the product after the pool reads the lifted value, nothing else reads the narrow one
    const readers = programOf(file('narrow')).steps.filter((s) => s.inputs.includes(last.outputs[0]));
    expect(readers.map((s) => s.kind)).to.deep.equal(['truncateClientOffline']);
    expect(programOf(file('narrow')).steps.some((s) => s.kind === 'weightsClientOffline' && s.inputs[0] === lifts[0].outputs[0])).to.equal(true);
    expect(stepsOf(file('wide'), 'truncateClientOffline').some((s) => s.params.lift)).to.equal(false);
  });

  it('the narrow steps cost r/8 B per ring element (6 in Z_2^48), a full window r bits, the lift (48 − r)-bit pads: every flow by hand, the totals as cost.json', () => {
    const [narrow, wide] = [readCostJson(file('narrow/cost.json')), readCostJson(file('wide/cost.json'))];
    const [gn, gw] = [readFileSync(file('narrow/party1/model.mir'), 'utf8'), readFileSync(file('wide/party1/model.mir'), 'utf8')];
    // a node's flows in model.mir ("step from->to phase label bytes"), by "from->to label"
    for (const s of stepsOf(file('narrow'), 'helperSelect').filter((st) => Number(st.params.ring) < 48)) {
      const n = Number(s.params.size);
      const rb = Number(s.params.ring) / 8;
      const [fn, fw] = [nodeFlows(gn, s.name), nodeFlows(gw, s.name)];
      // a plain ReLU or a block-ReLU: hsel.masked twice and hsel.select per selected element
      const selected = (fw.get('2->1 hsel.select') ?? 0) / 6;
      expect(selected, s.name).to.be.at.most(n);
      for (const key of ['0->2 hsel.masked', '1->2 hsel.masked', '2->1 hsel.select']) expect(fn.get(key), `${s.name} ${key}`).to.equal(rb * selected);
      expect(fn.get('2->1 hsel.flipshare')! * 6).to.equal(fw.get('2->1 hsel.flipshare')! * rb);
      const window = s.params.window as { lo: number; k: number };
      if (window.lo === 0) expect(window.k, `${s.name}: the full window`).to.equal(8 * rb);
    }
    const lift = stepsOf(file('narrow'), 'truncateClientOffline').find((s) => s.params.lift)!;
    const liftFlows = nodeFlows(gn, lift.name);
    const n = liftFlows.get('1->2 trunc.open')! * 8;
    expect(n).to.equal(programOf(file('narrow')).steps.find((s) => s.outputs.includes(lift.inputs[0]))!.params.size);
    const shift = Number(lift.params.bits);
    expect([...liftFlows].sort()).to.deep.equal(
      [['0->1 trunc.pad', (shift / 8) * n], ['1->2 trunc.open', n / 8], ['2->1 trunc.share', (shift / 8) * n]].sort() as [string, number][],
    );
    expect(narrow.bytes.online + narrow.bytes.preprocessing).to.be.below(wide.bytes.online + wide.bytes.preprocessing);
    expect(narrow.rounds).to.equal(wide.rounds + 2);
  });

  it('runs: outputs as the fixed-point interpreter\'s, counters equal cost.json and model.mir', async () => {
    const q = quantizedTiny(file('tiny.onnx'));
    const rand = rng(48);
    const inputs = [0, 1].map(() => Float32Array.from({ length: N }, () => 2 * rand() - 1));
    const outputs = await runCheckedRuns(file('narrow'), inputs);
    inputs.forEach((x, i) => {
      const [name, secure] = outputs[i];
      const fixed = runGraphFixed(q, { [q.inputs[0]]: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC }).outputs.get(name)!.data;
      expect(maxAbsDiff(secure, fixed), `input ${i}`).to.be.at.most(16 * 2 ** -FRAC);
    });
  });

  it('auto windows: the pool\'s tree levels (maxes) drop their low bits up to f − 6 and the note says why; the other comparisons keep the sign-error rule', () => {
    const summary = runCompile(file('tiny.onnx'), { output: file('windows'), clientOffline: true, ring: '48', calib: file('calib.npy'), fracBits: FRAC, compareBits: 'auto', quiet: true });
    const plan = JSON.parse(readFileSync(file('windows/plan.json'), 'utf8')) as { compare: { windows: { name: string; lo: number; k: number; predictedSignError: number; predictedOverflow: number }[] } };
    const note = summary.notes.find((n) => n.startsWith('comparison windows'))!;
    const maxes = plan.compare.windows.filter((w) => w.name.includes('MaxPool.'));
    expect(maxes.length).to.be.at.least(2);
    for (const w of plan.compare.windows) {
      const line = note.split('\n').find((l) => l.startsWith(`  ${w.name} (`))!;
      expect(line.includes('a max: its lost carries'), w.name).to.equal(w.name.includes('MaxPool.'));
    }
    // a max whose window starts at or below f − 6 predicts no lost carry: only what lies past its range
    for (const w of maxes) if (w.lo <= FRAC - 6) expect(w.predictedSignError, w.name).to.equal(w.predictedOverflow);
    expect(maxes.some((w) => w.lo === FRAC - 6)).to.equal(true);
  });

  it('a selection in a ring wider than its input\'s reads it lifted: the pool\'s tree in Z_2^24, the ReLU behind it in Z_2^32', () => {
    const quantized = quantizedTiny(file('tiny.onnx'));
    const marked = replaceGraph(quantized, {
      nodes: quantized.nodes.map((n) => (n.op === 'Relu' ? makeNode(n.op, n.name, n.inputs, n.outputs, { ...n.attrs, window_ring: n.name.includes('MaxPool.') ? 24 : 32 }) : n)),
    });
    const g = runPipeline(marked, 'lower{client-offline=true,ring=48}').graph;
    const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    // every value's ring, as validate.ts follows it
    const ringOf = new Map<string, number>();
    const carrying = new Set(['Add', 'Sub', 'Slice', 'Concat', 'Identity', 'Reshape', 'Flatten', 'Transpose', 'Pad']);
    for (const n of g.nodes) {
      const ins = n.inputs.filter((i): i is string => Boolean(i)).map((i) => ringOf.get(i) ?? 48);
      const own = n.op === 'SecureHelperSelect' ? ((n.attrs.window_ring as number | undefined) ?? 48) : n.op === 'SecureLift' ? (n.attrs.from as number) : 48;
      if (n.op === 'SecureLift') expect(ins, n.name).to.deep.equal([own]);
      else if (carrying.has(n.op)) {
        for (const o of n.outputs) ringOf.set(o, Math.min(48, ...ins));
        continue;
      } else for (const r of ins) expect(r, `${n.name} (${n.op}) reads a value of Z_2^${r}`).to.be.at.least(own);
      if (n.op === 'SecureHelperSelect') for (const o of n.outputs) ringOf.set(o, own);
    }
    const lifts = g.nodes.filter((n) => n.op === 'SecureLift');
    expect(lifts.map((n) => [n.attrs.from, n.attrs.bits]).sort()).to.deep.equal([[24, 24], [32, 16]]);
    const relu1 = g.nodes.find((n) => n.name === '/relu1/Relu')!;
    expect([relu1.attrs.window_ring, producer.get(relu1.inputs[0])!.op]).to.deep.equal([32, 'SecureLift']);
  });

  it('no selection narrows where calibration\'s values do not fit Z_2^32 with the margin', () => {
    const notes = runCompile(file('tiny.onnx'), { output: file('huge'), clientOffline: true, ring: 'auto', calib: file('huge.npy'), fracBits: FRAC, quiet: true }).notes.join('\n');
    expect(notes).to.match(/ring/);
    expect(notes).not.to.match(/lifted back/);
    const ring = programOf(file('huge')).ring;
    expect(ring).to.be.above(32);
    expect(stepsOf(file('huge'), 'helperSelect').every((s) => s.params.ring === ring)).to.equal(true);
    expect(stepsOf(file('huge'), 'truncateClientOffline').some((s) => s.params.lift)).to.equal(false);
  });

  it('the validator refuses a smaller ring\'s value read unlifted, a lift of a value of the program\'s ring, and a narrow window past Z_2^32 (MPCC5222)', () => {
    const text = readFileSync(file('narrow/party1/program.json'), 'utf8');
    expect(() => parseProgram(text, 'program.json', 1)).not.to.throw();
    const edit = (change: (p: Program) => void): string => {
      const p = JSON.parse(text) as Program;
      change(p);
      return JSON.stringify(p);
    };
    const liftAt = (p: Program) => p.steps.findIndex((s) => s.params.lift === true);
    // the product reads the narrow value itself
    const unlifted = edit((p) => {
      const lift = p.steps[liftAt(p)];
      p.steps.splice(liftAt(p), 1);
      for (const s of p.steps) s.inputs = s.inputs.map((v) => (v === lift.outputs[0] ? lift.inputs[0] : v));
    });
    const refusal = (t: string): string => {
      try {
        parseProgram(t, 'program.json', 1);
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(refusal(unlifted)).to.match(/^MPCC5222: .*is of the smaller ring Z_2\^24: a 'weightsClientOffline' step reads only the program's ring Z_2\^48/);
    // a lift of a value of the program's ring (the truncation before the pool)
    const liftWide = edit((p) => {
      const t = p.steps.find((s) => s.kind === 'truncateClientOffline' && !s.params.lift)!;
      t.params.lift = true;
    });
    expect(refusal(liftWide)).to.match(/^MPCC5222: .*lifts a value of Z_2\^32 \(ring − bits\), the operand '.*' is of Z_2\^48/);
    const pastRing = edit((p) => {
      const s = p.steps.find((st) => st.kind === 'helperSelect' && st.params.ring === 24)!;
      s.params.window = { lo: 12, k: 16 };
    });
    expect(refusal(pastRing)).to.match(/^MPCC5222: .*bits \[12, 28\) reach beyond the step's ring Z_2\^24/);
  });
});
