// The verifier's graph-level errors (MPCC2003), for graphs built through the IR's API (the
// textual IR reports the same problems earlier, at their line: test/ir/text-errors.test.ts).
import { expect } from 'chai';
import { GraphBuilder } from '../../ir/builder.js';
import { makeGraph } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { verify } from '../../ir/verify.js';
import { errorOf } from '../passes/util.js';

/** The one line the CLI would print for the error `fn` throws. */
const errorLine = (fn: () => unknown): string => errorOf(fn).format();

describe('IR verifier: graph-level errors', () => {
  it('MPCC2003 for a graph output no node defines', () => {
    const b = new GraphBuilder();
    const x = b.input('x', { dtype: 'float32', shape: [1, 4] });
    b.op('Relu', [x]);
    b.output('y');
    expect(errorLine(() => b.build())).to.equal("error MPCC2003: IR verification failed: graph output 'y' is not defined");
  });

  it('MPCC2003 for a constant whose tensor disagrees with its type', () => {
    const g = makeGraph({
      name: 'net',
      inputs: [],
      outputs: ['w'],
      nodes: [],
      types: new Map([['w', { dtype: 'float32', shape: [2, 2] }]]),
      constants: new Map([['w', new Tensor('float32', [4], new Float32Array(4))]]),
    });
    expect(errorLine(() => verify(g))).to.equal("error MPCC2003: IR verification failed: constant 'w' holds float32[4] but is typed float32[2,2]");
  });
});
