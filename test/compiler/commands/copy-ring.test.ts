// The helper's copies in a smaller ring (runtime/protocols/copy-ring.ts, compiler/ring-choice.ts
// COPY_RINGS, lower's copy_ring): with --calib, a client-offline program in Z_2^48 has every
// selection in its own ring send the helper its masked copies in Z_2^24 or Z_2^32, the smallest
// that holds the values it selects (brute force here: the fixed-point interpreter's values of each
// ReLU's input), P2 lifting their sum by the top bit. Checked against the same program compiled
// without calibration samples (every copy in Z_2^48): which steps take which copy ring, their flows
// by hand (r/8 B per copy instead of 6, the wrap's 48 − r bits, no round more), the secure run
// against the fixed-point interpreter with counters equal to cost.json, no smaller copies where
// the values do not fit, and the validator's refusals.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { readCostJson } from '../../../compiler/commands/cost.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { tensorOf } from '../../../ir/tensor.js';
import { packedBytes } from '../../../runtime/protocols/bits.js';
import { parseProgram } from '../../../runtime/program/validate.js';
import type { Program } from '../../../runtime/program/program.js';
import { rng } from '../../passes/util.js';
import { maxAbsDiff, nodeFlows, runCheckedRuns } from '../../e2e/support.js';
import { suiteTempDir } from '../../temp-dir.js';
import { FRAC, N, calibration, quantizedTiny, stepsOf } from './tiny-rings.js';

describe("the helper's copies in a smaller ring (copy_ring)", function () {
  this.timeout(300000);
  const tmp = suiteTempDir('mpcc-copy-');
  let dir = '';
  const file = (name: string) => join(dir, name);
  let note = '';
  let images: Float32Array[] = [];
  before(() => {
    dir = tmp();
    writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
    images = calibration(file('calib.npy'), 1);
    calibration(file('huge.npy'), 4000);
    note = runCompile(file('tiny.onnx'), { output: file('copies'), clientOffline: true, ring: '48', calib: file('calib.npy'), fracBits: FRAC, quiet: true }).notes.join('\n');
    runCompile(file('tiny.onnx'), { output: file('wide'), clientOffline: true, ring: '48', fracBits: FRAC, quiet: true });
  });

  it("each selection in the program's ring sends its copies in the smallest of Z_2^24 and Z_2^32 that holds what it selects (brute force over the samples), the narrow ones and the program without samples in Z_2^48", () => {
    expect(note).to.match(/masked copies in Z_2\^(24|32)[^;]*lifted by the top bit/);
    // brute force: the largest |input| of every ReLU on the samples (the fixed-point interpreter on the quantized graph)
    const q = quantizedTiny(file('tiny.onnx'));
    const relus = q.nodes.filter((n) => n.op === 'Relu' || n.op === 'BlockRelu');
    const watched = { ...q, outputs: [...q.outputs, ...relus.map((n) => n.inputs[0])] };
    const largest = new Map<string, number>();
    for (const x of images) {
      const run = runGraphFixed(watched, { [q.inputs[0]]: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC, keep: 'outputs' });
      for (const n of relus) {
        let m = largest.get(n.name) ?? 0;
        for (const w of run.ring.get(n.inputs[0])!.data as BigUint64Array) m = Math.max(m, Math.abs(Number(BigInt.asIntN(64, w))));
        largest.set(n.name, m);
      }
    }
    const steps = stepsOf(file('copies'), 'helperSelect');
    const inRing = steps.filter((s) => s.params.ring === 48);
    expect(inRing.length).to.be.at.least(1);
    for (const s of steps) {
      const want = s.params.ring === 48 ? [24, 32].find((r) => largest.get(s.name)! * 8 < 2 ** (r - 2)) : undefined;
      expect(s.params.copyRing, s.name).to.equal(want);
    }
    expect(inRing.some((s) => s.params.copyRing !== undefined)).to.equal(true);
    expect(stepsOf(file('wide'), 'helperSelect').some((s) => s.params.copyRing !== undefined)).to.equal(false);
  });

  it('a step with copies pays r/8 B per copy and 48 − r bits of wrap share per selected element, in no round more: every flow by hand against the program without them', () => {
    const [copies, wide] = [readCostJson(file('copies/cost.json')), readCostJson(file('wide/cost.json'))];
    const [gc, gw] = [readFileSync(file('copies/party1/model.mir'), 'utf8'), readFileSync(file('wide/party1/model.mir'), 'utf8')];
    let saved = 0;
    for (const s of stepsOf(file('copies'), 'helperSelect').filter((st) => st.params.copyRing !== undefined)) {
      const r = Number(s.params.copyRing);
      const [fc, fw] = [nodeFlows(gc, s.name), nodeFlows(gw, s.name)];
      const selected = fw.get('2->1 hsel.select')! / 6;
      expect(selected, s.name).to.be.above(0);
      for (const key of ['0->2 hsel.masked', '1->2 hsel.masked']) expect(fc.get(key), `${s.name} ${key}`).to.equal((r / 8) * selected);
      expect(fc.get('2->1 hsel.wrap'), `${s.name} wrap`).to.equal(packedBytes(selected, 48 - r));
      expect(fw.has('2->1 hsel.wrap')).to.equal(false);
      // everything else as without the copies
      for (const [key, bytes] of fw) if (!key.endsWith('hsel.masked')) expect(fc.get(key), `${s.name} ${key}`).to.equal(bytes);
      saved += 2 * (6 - r / 8) * selected - packedBytes(selected, 48 - r);
    }
    expect(saved).to.be.above(0);
    // the whole program: only those steps changed, and no round
    const total = (c: typeof copies) => c.bytes.online + c.bytes.preprocessing;
    const narrowLifts = stepsOf(file('copies'), 'truncateClientOffline').filter((s) => s.params.lift).length;
    expect(copies.rounds).to.equal(wide.rounds + 2 * narrowLifts);
    expect(total(copies)).to.be.below(total(wide));
  });

  it("runs: outputs as the fixed-point interpreter's (values near the copies' bound included), counters equal cost.json and model.mir", async () => {
    const q = quantizedTiny(file('tiny.onnx'));
    const rand = rng(24);
    // the calibration's own extremes and inputs scaled past them (up to the margin's factor 8)
    const inputs = [images[0], images[1].map((v) => 6 * v), Float32Array.from({ length: N }, () => 2 * rand() - 1)];
    const outputs = await runCheckedRuns(file('copies'), inputs);
    inputs.forEach((x, i) => {
      const [name, secure] = outputs[i];
      const fixed = runGraphFixed(q, { [q.inputs[0]]: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: FRAC }).outputs.get(name)!.data;
      expect(maxAbsDiff(secure, fixed), `input ${i}`).to.be.at.most(16 * 2 ** -FRAC * Math.max(1, ...Array.from(fixed, Math.abs)));
    });
  });

  it("no copies in a smaller ring where calibration's values do not fit Z_2^32 with the margin", () => {
    const notes = runCompile(file('tiny.onnx'), { output: file('huge'), clientOffline: true, ring: '64', calib: file('huge.npy'), fracBits: FRAC, quiet: true }).notes.join('\n');
    const q = quantizedTiny(file('tiny.onnx'));
    expect(q.nodes.some((n) => n.op === 'Relu')).to.equal(true);
    const steps = stepsOf(file('huge'), 'helperSelect');
    // the huge samples put every selected value above 2^27 ulps (4000 × 2^16 / 8 would be 2^31)
    expect(steps.every((s) => s.params.copyRing === undefined)).to.equal(true);
    expect(notes).not.to.match(/masked copies/);
  });

  it('the validator refuses copies outside 24 and 32 bits, at or above the program\'s ring, or in a selection of a smaller ring (MPCC5222)', () => {
    const text = readFileSync(file('copies/party1/program.json'), 'utf8');
    expect(() => parseProgram(text, 'program.json', 1)).not.to.throw();
    const refusal = (change: (p: Program) => void): string => {
      const p = JSON.parse(text) as Program;
      change(p);
      try {
        parseProgram(JSON.stringify(p), 'program.json', 1);
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    const withCopy = (p: Program) => p.steps.find((s) => s.kind === 'helperSelect' && s.params.copyRing !== undefined)!;
    expect(refusal((p) => (withCopy(p).params.copyRing = 40))).to.match(/^MPCC5222: .*copyRing.*40: the helper's copies take 24 or 32 bits/);
    expect(refusal((p) => (withCopy(p).params.copyRing = 16))).to.match(/^MPCC5222: .*copyRing/);
    const narrow = (p: Program) => p.steps.find((s) => s.kind === 'helperSelect' && Number(s.params.ring) < 48);
    expect(narrow(JSON.parse(text) as Program), "the pool's narrow selections").not.to.equal(undefined);
    expect(refusal((p) => (narrow(p)!.params.copyRing = 24))).to.match(/^MPCC5222: .*copyRing.*in a selection in the program's ring/);
    expect(refusal((p) => (withCopy(p).params.copyRing = '24' as unknown as number))).to.match(/^MPCC5222: /);
  });
});
