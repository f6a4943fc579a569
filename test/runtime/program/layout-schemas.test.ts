// The layout steps' per-field schemas (runtime/program/validate-layout.ts): a real compiled
// program (the secure-ops zoo model: transposes, a slice, a concat, a pad, nearest and linear
// resizes; a broadcast step written in place of an identity step) is mutated field by field,
// and every mutation is refused with MPCC5222 naming the step and the field — by the loader,
// through a resealed folder, before anything runs. A layout step's declared operand size must
// also be the size of the value it reads, where the validator knows it.
import { expect } from 'chai';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { loadPartyArtifacts, parseProgram, PROGRAM_LIMITS, type Program } from '../../../runtime/program/index.js';
import { slice, transpose } from '../../../runtime/local/index.js';
import { suiteTempDir } from '../../temp-dir.js';
import { resealParty } from './reseal.js';

type Params = Record<string, unknown>;

/** The layout kinds and, per kind, mutations of one step's parameters with the refusal expected
 * (the field after `params.`, and the problem). */
const CASES: Record<string, [string, (p: Params) => void, RegExp][]> = {
  transpose: [
    ['a repeated axis', (p) => ((p.perm as number[])[1] = (p.perm as number[])[2]), /params\.perm\[2\]: axis \d appears twice: not a permutation of 4 axes/],
    ['a permutation of another rank', (p) => (p.perm = [0, 2, 1]), /params\.perm: 3 entries, expected 4/],
    ['an axis beyond the rank', (p) => ((p.perm as number[])[3] = 4), /params\.perm\[3\]: 4 is outside \[0, 3\]/],
    ['a fractional axis', (p) => ((p.perm as number[])[0] = 0.5), /params\.perm\[0\]: expected an integer, got 0\.5/],
    ['no shape', (p) => delete p.shape, /params\.shape: expected an array/],
    ['a shape of rank 0', (p) => (p.shape = []), /params\.shape: a shape of rank 0/],
    ['an unknown field', (p) => (p.offset = 3), /params\.offset: unknown field/],
    ['a shape of another size than its operand', (p) => (p.shape = [1, 8, 12, 11]), /params\.shape: 1056 elements, the operand '\/interp\/Resize_output_0' has 1152/],
  ],
  slice: [
    ['an end past the axis', (p) => ((p.ends as number[])[0] = 9), /params\.ends\[0\]: end 9 is outside axis 2 of size 8 \(step 1\)/],
    ['a negative start', (p) => ((p.starts as number[])[1] = -1), /params\.starts\[1\]: start -1 is outside axis 3 of size 8/],
    ['a start past the axis with a negative step', (p) => Object.assign(p, { starts: [8, 1], ends: [0, 7], steps: [-1, 1] }), /params\.starts\[0\]: start 8 is outside axis 2 of size 8 \(step -1\)/],
    ['a step of 0', (p) => ((p.steps as number[])[0] = 0), /params\.steps\[0\]: a step of 0/],
    ['an axis twice', (p) => (p.axes = [2, 2]), /params\.axes\[1\]: axis 2 appears twice/],
    ['an axis beyond the rank', (p) => (p.axes = [2, 4]), /params\.axes\[1\]: 4 is outside \[0, 3\]/],
    ['fewer starts than axes', (p) => (p.starts = [1]), /params\.starts: 1 entries, expected 2/],
    ['more axes than the rank', (p) => (p.axes = [0, 1, 2, 3, 0]), /params\.axes: 5 entries, at most 4/],
    ['an unknown field', (p) => (p.fill = 'x'), /params\.fill: unknown field/],
  ],
  concat: [
    ['a shape per operand missing', (p) => (p.shapes as unknown[]).pop(), /params\.shapes: 1 shapes for 2 operands/],
    ['an axis beyond the rank', (p) => (p.axis = 4), /params\.axis: 4 is outside \[0, 3\]/],
    ['operands that differ off the axis', (p) => ((p.shapes as number[][])[1][2] = 9), /params\.shapes\[1\]\[2\]: 9, the first operand's is 8 \(only axis 1 may differ\)/],
    ['operands of two ranks', (p) => ((p.shapes as number[][])[1] = [8, 8, 8]), /params\.shapes\[1\]: rank 3, the first operand's is 4/],
    ['an unknown field', (p) => (p.order = [1, 0]), /params\.order: unknown field/],
    ['an operand of another size than its value', (p) => ((p.shapes as number[][])[1][1] = 9), /params\.shapes\[1\]: 576 elements, the operand '\/upsample\/Resize_output_0' has 512/],
  ],
  pad: [
    ['pads of another rank', (p) => (p.pads = [0, 1, 0, 1]), /params\.pads: 4 entries, expected 8/],
    ['a negative pad (a crop)', (p) => ((p.pads as number[])[2] = -1), /params\.pads\[2\]: -1 is outside \[0, /],
    ['a pad past the size limit', (p) => ((p.pads as number[])[3] = PROGRAM_LIMITS.elements), /params\.pads: a padded tensor of \d+ elements, at most 268435456/],
    ['an unknown field', (p) => (p.value = 0.25), /params\.value: unknown field/],
  ],
  resize: [
    ['scales of another rank', (p) => (p.scales = [1, 2, 2]), /params\.scales: 3 entries, expected 4/],
    ['a scale of 0', (p) => ((p.scales as number[])[2] = 0), /params\.scales\[2\]: expected a positive finite scale, got 0/],
    ['a NaN scale (null in JSON)', (p) => ((p.scales as unknown[])[3] = null), /params\.scales\[3\]: expected a positive finite scale, got null/],
    ['an unknown mode', (p) => (p.mode = 'cubic'), /params\.mode: expected 'nearest' or 'linear', got "cubic"/],
    ['an unknown coordinate transformation', (p) => (p.coordinateMode = 'outside'), /params\.coordinateMode: unknown coordinate transformation "outside"/],
    ['an unknown nearest mode', (p) => (p.nearestMode = 'random'), /params\.nearestMode: unknown nearest mode "random"/],
    ['coefficient bits beyond 30', (p) => (p.coefBits = 40), /params\.coefBits: 40 is outside \[0, 30\]/],
    ['an output of another rank', (p) => (p.outShape = [1, 8, 8]), /params\.outShape: rank 3, the input's is 4/],
    ['an interpolation map past the size limit', (p) => Object.assign(p, { mode: 'linear', outShape: [1, 8, 4096, 4096] }), /params\.outShape: an interpolation map of \d+ elements, at most 268435456/],
    ['an unknown field', (p) => (p.antialias = 1), /params\.antialias: unknown field/],
    ['an input of another size than its operand (a pool result)', (p) => (p.inShape = [1, 8, 4, 5]), /params\.inShape: 160 elements, the operand '\/avgpool\/AveragePool_output_0' has 128/],
  ],
  broadcast: [
    ['an axis that does not broadcast', (p) => (p.shape = [1, 12, 5, 8]), /params\.shape\[2\]: 5 does not broadcast to 12/],
    ['an output of lower rank', (p) => (p.outShape = [3, 4]), /params\.outShape: rank 2, below the input's 4/],
    ['an input of another size than its operand', (p) => Object.assign(p, { shape: [1, 3, 4], outShape: [2, 1, 3, 4] }), /params\.shape: 12 elements, the operand '\/to_nhwc\/Transpose_output_0' has 1152/],
    ['no output shape', (p) => delete p.outShape, /params\.outShape: expected an array/],
    ['an unknown field', (p) => (p.axes = [0]), /params\.axes: unknown field/],
  ],
};

/** Compiles the secure-ops zoo model into `dir`/out; returns OUT and party 0's program. */
function compileSecureOps(dir: string): { out: string; program: Program } {
  const model = join(dir, 'secure-ops.onnx');
  writeFileSync(model, buildZooFiles('secure-ops').model);
  runCompile(model, { output: join(dir, 'out') });
  return { out: join(dir, 'out'), program: JSON.parse(readFileSync(join(dir, 'out', 'party0', 'program.json'), 'utf8')) as Program };
}

describe('runtime: per-field schemas of the layout steps', function () {
  const tmp = suiteTempDir('mpcc-layout-schemas-');
  let program: Program;
  let out = '';
  this.timeout(60000);
  before(() => {
    ({ out, program } = compileSecureOps(tmp()));
    // no compiled model broadcasts an activation: an identity step becomes a valid broadcast
    const identity = program.steps.find((s) => s.kind === 'identity')!;
    Object.assign(identity, { kind: 'broadcast', params: { shape: [1, 12, 12, 8], outShape: [2, 12, 12, 8] } });
  });

  /** The program with `edit` applied to the first step of `kind`; the step's index. */
  const edited = (kind: string, edit: (p: Params) => void): { text: string; index: number } => {
    const p = structuredClone(program);
    const index = p.steps.findIndex((s) => s.kind === kind && (kind !== 'resize' || s.params.mode === 'nearest'));
    edit(p.steps[index].params as Params);
    return { text: JSON.stringify(p), index };
  };

  it('accepts the compiled program (every layout kind, a broadcast written in) as it is', () => {
    const text = JSON.stringify(program);
    expect(parseProgram(text, 'p.json', 0)).to.deep.equal(program);
    for (const kind of Object.keys(CASES)) expect(program.steps.some((s) => s.kind === kind), kind).to.equal(true);
  });

  it('the runtime functions do read out of bounds without the schema: the checks guard a real hole', () => {
    // a slice end past the axis reads past the vector: an uncoded TypeError mid-run; a repeated
    // transpose axis silently returns a 4×4 tensor of the wrong elements
    const x = BigUint64Array.from({ length: 8 }, (_, i) => BigInt(i + 1));
    expect(() => slice(x, { shape: [2, 4], starts: [0], ends: [6], axes: [1], steps: [1] })).to.throw(TypeError);
    expect([...transpose(x, { shape: [2, 4], perm: [1, 1] })]).to.deep.equal([1n, 2n, 3n, 4n, 2n, 3n, 4n, 5n, 3n, 4n, 5n, 6n, 4n, 5n, 6n, 7n]);
  });

  for (const [kind, cases] of Object.entries(CASES)) {
    for (const [what, edit, message] of cases) {
      it(`${kind}: refuses ${what} (MPCC5222 naming the step and the field)`, () => {
        const { text, index } = edited(kind, edit);
        expect(() => parseProgram(text, 'p.json', 0)).to.throw(new RegExp(`^program p\\.json refused: steps\\[${index}\\]\\.${message.source}`)).with.property('code', 'MPCC5222');
      });
    }
  }

  it('refuses a pool whose input shape is not its operand\'s size, and a global pool of another rank', () => {
    const refusal = (kind: string, edit: (p: Params) => void) => {
      const { text, index } = edited(kind, edit);
      try {
        parseProgram(text, 'p.json', 0);
      } catch (e) {
        return `${(e as { code: string }).code} ${(e as Error).message.replace(`steps[${index}]`, 'steps[i]')}`;
      }
      return 'accepted';
    };
    // the average pool made to read the client's input (1×3×16×16) with its 1×8×8×8 geometry
    const p = structuredClone(program);
    const index = p.steps.findIndex((s) => s.kind === 'avgPool');
    p.steps[index].inputs = [p.input.value];
    expect(() => parseProgram(JSON.stringify(p), 'p.json', 0)).to.throw(`program p.json refused: steps[${index}].params.pool.inShape: 512 elements, the operand 'input.fixed' has 768`);
    expect(refusal('globalAvgPool', (p) => (p.inShape = [1, 8, 8]))).to.match(/^MPCC5222 program p\.json refused: steps\[i\]\.params\.inShape: 3 entries, expected 4$/);
    // a pool's reciprocal bits: 1..16 (runtime/protocols/linear.ts AVG_SHIFT)
    for (const bits of [0, 17, 2.5]) expect(refusal('globalAvgPool', (p) => (p.divideBits = bits)), `divideBits ${bits}`).to.match(/^MPCC5222 program p\.json refused: steps\[i\]\.params\.divideBits: /);
    expect(refusal('avgPool', (p) => (p.divideBits = 20))).to.match(/^MPCC5222 program p\.json refused: steps\[i\]\.params\.divideBits: /);
  });

  it('refuses a mutated layout step while loading a resealed folder, before anything runs', async () => {
    const folder = join(tmp(), 'tampered', 'party0');
    cpSync(join(out, 'party0'), folder, { recursive: true });
    const { text, index } = edited('transpose', (p) => (p.perm = [0, 0, 0, 0]));
    writeFileSync(join(folder, 'program.json'), text);
    resealParty(folder);
    const got = await loadPartyArtifacts(folder, 0).then(
      () => 'ok',
      (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
    );
    expect(got).to.equal(`MPCC5222: program ${join(folder, 'program.json')} refused: steps[${index}].params.perm[1]: axis 0 appears twice: not a permutation of 4 axes`);
  });
});
