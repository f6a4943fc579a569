// `mpcc compile` on small .mir models secure inference cannot take: each fails with its coded
// error from the pass or the code generator that finds the problem, and writes no artifacts.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { MpccError } from '../../../runtime/diagnostics.js';

/** `n` small distinct reals as a .mir literal list. */
const values = (n: number): string => `[${Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 8).join(', ')}]`;

/** A .mir model: `signature` of @net, then the body lines. */
const mir = (signature: string, ...body: string[]): string => `mir 1\ngraph @net${signature} {\n${body.map((l) => `  ${l}\n`).join('')}}\n`;

describe('mpcc compile: models secure inference cannot take', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mpcc-compile-errors-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The coded error compiling `text` fails with (no output folder is left). */
  function compileError(name: string, text: string): MpccError {
    const model = join(dir, `${name}.mir`);
    writeFileSync(model, text);
    const out = join(dir, `${name}-out`);
    try {
      runCompile(model, { output: out });
    } catch (e) {
      expect(e).to.be.instanceOf(MpccError);
      expect(existsSync(out), 'no artifacts').to.equal(false);
      return e as MpccError;
    }
    throw new Error(`${name} compiled`);
  }

  it('MPCC6003 for a Gemm bias that is not one value per output column', () => {
    const e = compileError('gemm-bias', mir('(%x: float32[2,4]) -> (%y: float32[2,3])', `const %w: float32[4,3] = ${values(12)}`, `const %c: float32[2,3] = ${values(6)}`, '%y: float32[2,3] = Gemm "fc"(%x, %w, %c)'));
    expect(e.format()).to.equal("error MPCC6003: node 'fc' (Gemm): bias C of shape [2,3] is not one value per output column");
  });

  it('MPCC6004 for an integer graph input', () => {
    const e = compileError('int-input', mir('(%x: int64[1,4]) -> (%y: int64[1,4])', '%y: int64[1,4] = Relu "r"(%x)'));
    expect(e.format()).to.equal("error MPCC6004: graph input 'x' is int64; secure inference takes float inputs");
  });

  it('MPCC6001 for a division by an activation, refused by quantize (a constant minus an activation now compiles)', () => {
    const div = compileError('div-secret', mir('(%x: float32[1,4]) -> (%y: float32[1,4])', '%r: float32[1,4] = Relu "relu"(%x)', '%y: float32[1,4] = Div "div"(%x, %r)'));
    expect(div.format()).to.equal("error MPCC6001: node 'div' (Div) is not supported in secure inference: division by a secret value is not supported");
  });

  it('MPCC6040 for a scheduled graph the programs cannot express (a matmul bias per element)', () => {
    // A hand-edited scheduled .mir: the bias broadcasts to the product (so the IR verifies) but
    // is not one value per output column, the only bias layout the weights step adds.
    const e = compileError('bias-per-element', mir(
      '(%x: float32[2,4]) -> (%y: float32[2,3])',
      `const %w: float32[4,3] = ${values(12)}`,
      `const %c: float32[2,3] = ${values(6)}`,
      '%x.fixed: float32[2,4] = SecureInput "x.fixed"(%x) {drelus = 0, flows = [], frac = 12, protocol = "shareInput", round = 0, rounds = 0}',
      '%y.acc: float32[2,3] = SecureWeights "fc"(%x.fixed, %w, %c) {drelus = 0, flows = ["0 0->1 online weights.activation 64", "0 2->1 preprocessing weights.correction 48", "0 1->0 oneTime weights.mask 96"], kind = "matmul", protocol = "applyWeights", round = 1, rounds = 1}',
      '%y_share: float32[2,3] = Truncate "fc.trunc"(%y.acc) {bits = 12}',
      '%y: float32[2,3] = SecureReveal "reveal_y"(%y_share) {drelus = 0, flows = ["0 1->0 online reveal 48"], frac = 12, protocol = "revealToClient", round = 2, rounds = 1}',
    ));
    expect(e.format()).to.equal("error MPCC6040: codegen: node 'fc' (SecureWeights) cannot be generated: bias of shape [2,3] for a product of shape [2,3]");
  });

  it('MPCC6041 for a model of two runtime inputs', () => {
    const e = compileError('two-inputs', mir('(%x: float32[1,4], %z: float32[1,4]) -> (%y: float32[1,4])', '%y: float32[1,4] = Add "add"(%x, %z)'));
    expect(e.code).to.equal('MPCC6041');
    expect(e.message).to.contain('2 SecureInput nodes (the runtime takes exactly one input)');
  });
});
