// The interpreters' coded errors (MPCC3004): an input not given, in float and in fixed point,
// and models `mpcc infer` cannot feed from one .npy file.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInfer } from '../../../compiler/commands/infer.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { GraphBuilder } from '../../../ir/builder.js';
import { runGraph } from '../../../ir/interp/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/run.js';
import { errorOf } from '../../passes/util.js';
import { runPipeline } from '../../../passes/index.js';

/** The one line the CLI would print for the error `fn` throws. */
const errorLine = (fn: () => unknown): string => errorOf(fn).format();

describe('interpreters: coded errors', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-interp-errors-'));
    writeFileSync(join(dir, 'x.npy'), encodeNpy([1, 4], [1, -2, 3, -4]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const relu = () => {
    const b = new GraphBuilder();
    b.output(b.op('Relu', [b.input('x', { dtype: 'float32', shape: [1, 4] })]));
    return b.build();
  };

  it('MPCC3004 for an input not given (float interpreter)', () => {
    expect(errorLine(() => runGraph(relu(), new Map()))).to.equal("error MPCC3004: interpreter: node '<inputs>' (-): missing input 'x'");
  });

  it('MPCC3004 for an input not given (fixed-point interpreter)', () => {
    expect(errorLine(() => runGraphFixed(runPipeline(relu(), 'quantize').graph, new Map(), { frac: 12 }))).to.match(/^error MPCC3004: interpreter: node '<inputs>' \(-\): missing input '.+'$/);
  });

  it('MPCC3004 from mpcc infer for a model of two inputs or an integer input', () => {
    const two = join(dir, 'two.mir');
    writeFileSync(two, 'mir 1\ngraph @net(%x: float32[1,4], %z: float32[1,4]) -> (%y: float32[1,4]) {\n  %y: float32[1,4] = Add "add"(%x, %z)\n}\n');
    expect(errorLine(() => runInfer(two, { input: join(dir, 'x.npy') }))).to.equal("error MPCC3004: interpreter: node '<inputs>' (-): the model has 2 runtime inputs; infer takes exactly one");
    const int = join(dir, 'int.mir');
    writeFileSync(int, 'mir 1\ngraph @net(%x: int64[1,4]) -> (%y: int64[1,4]) {\n  %y: int64[1,4] = Relu "r"(%x)\n}\n');
    expect(errorLine(() => runInfer(int, { input: join(dir, 'x.npy') }))).to.equal("error MPCC3004: interpreter: node '<inputs>' (-): input 'x' is int64; infer feeds float32");
  });
});
