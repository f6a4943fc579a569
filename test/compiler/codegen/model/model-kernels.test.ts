// A model's kernels module (compiler/codegen/model/model-kernels.ts) as the runtime loads it
// (runtime/kernels/kernels-module.ts): it exports every generic kernel with the generic arity; its
// specialized truncations (P0's, P1's with the bias fused) equal the generic path and the
// BigInt reference bit for bit; modules that are no WebAssembly, lack a kernel or take other
// parameters are refused with coded errors naming the file.
import { expect } from 'chai';
import { ModuleBuilder } from '../../../../compiler/codegen/binaryen.js';
import { addRingKernels } from '../../../../compiler/codegen/library/ring-kernels.js';
import { emitModelKernels } from '../../../../compiler/codegen/model/model-kernels.js';
import { truncationKernelName, type TruncationKernel } from '../../../../compiler/codegen/model/truncation-kernels.js';
import { compileKernels, genericKernels } from '../../../../runtime/kernels/kernels-module.js';
import { truncateShare, type RepeatingConstant } from '../../../../runtime/kernels/model-kernels.js';
import * as ref from '../../../../runtime/ring/ring-reference.js';
import { activeKernels, specializedKernel, useKernels } from '../../../../runtime/kernels/ring-wasm.js';
import { expectSame, TestRandom } from '../../../runtime/ring/ring.test.js';

const M64 = (1n << 64n) - 1n;

/** Shares with the values where a shift goes wrong first: sign boundaries, the shift's own
 * bit, all ones; the rest from TestRandom's mix. */
function shares(rnd: TestRandom, n: number, bits: number): BigUint64Array {
  const x = rnd.ring(n);
  const b = BigInt(Math.min(bits, 63));
  const edges = [0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, (1n << b) - 1n, 1n << b, BigInt.asUintN(64, -(1n << b)), BigInt.asUintN(64, -(1n << b) - 1n)];
  for (let i = 0; i < n; i += 3) x[i] = edges[(i / 3) % edges.length];
  return x;
}

/** x + the repeating constant, then truncShare of the reference: computed independently. */
function reference(x: BigUint64Array, bits: number, party: 0 | 1, bias?: RepeatingConstant): BigUint64Array {
  const y = x.slice();
  if (bias) for (let i = 0; i < y.length; i++) y[i] = BigInt.asUintN(64, y[i] + bias.values[Math.floor(i / bias.inner) % bias.values.length]);
  return ref.truncShare(y, bits, party);
}

const CASES: TruncationKernel[] = [];
for (const n of [1, 2, 3, 17, (1 << 14) + 3, 1 << 16]) for (const bits of [0, 1, 12, 24, 63, 64]) for (const party of [0, 1] as const) CASES.push({ n, bits, party });
for (const [n, channels, inner] of [[1, 1, 1], [30, 3, 5], [12, 4, 1], [20, 5, 2], [7, 1, 7], [2 * 64 * 49, 64, 49], [1024, 16, 64], [100, 100, 1], [24, 4, 3]])
  for (const party of [0, 1] as const) CASES.push({ n, bits: 12, party, bias: { channels, inner } }, { n, bits: 63, party, bias: { channels, inner } });

describe('codegen: a model kernels module', function () {
  this.timeout(60000);
  after(() => useKernels(null));

  it('exports every kernel of the generic module with its arity, and the specialized ones', () => {
    const k = compileKernels(emitModelKernels(CASES.slice(0, 4)), 'test module');
    for (const [name, arity] of genericKernels().functions) expect(k.functions.get(name), name).to.equal(arity);
    for (const t of CASES.slice(0, 4)) expect(k.functions.get(truncationKernelName(t))).to.equal(2);
  });

  it('specialized truncations equal the generic kernels and the BigInt reference bit for bit', () => {
    const k = compileKernels(emitModelKernels(CASES), 'test module');
    const rnd = new TestRandom(7);
    for (const t of CASES) {
      const what = truncationKernelName(t);
      const x = shares(rnd, t.n, t.bits);
      const bias = t.bias && { values: shares(rnd, t.bias.channels, t.bits), inner: t.bias.inner };
      const want = reference(x, t.bits, t.party, bias);
      const before = x.slice();
      useKernels(k);
      expect(specializedKernel(what), `${what} is exported`).to.be.a('function');
      expectSame(truncateShare(x, t.bits, t.party, bias), want, `${what} specialized`);
      useKernels(null);
      expect(specializedKernel(what), `${what} is not generic`).to.equal(undefined);
      expectSame(truncateShare(x, t.bits, t.party, bias), want, `${what} generic`);
      expectSame(x, before, `${what} leaves its input`);
    }
  });

  it('a size the module has no kernel for falls back to the generic kernels', () => {
    const k = compileKernels(emitModelKernels([{ n: 8, bits: 12, party: 0 }]), 'test module');
    useKernels(k);
    const rnd = new TestRandom(8);
    const x = shares(rnd, 9, 12);
    const bias = { values: shares(rnd, 3, 12), inner: 3 };
    expectSame(truncateShare(x, 12, 0), reference(x, 12, 0), 'other size');
    expectSame(truncateShare(x, 12, 1, bias), reference(x, 12, 1, bias), 'no fused kernel');
    expect(activeKernels()).to.equal(k);
  });

  describe('refuses a module that cannot replace the generic one', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
      return 'ok';
    };

    it('MPCC5102 for bytes that are no WebAssembly module, naming the file', () => {
      expect(code(() => compileKernels(new Uint8Array([0, 97, 115, 109, 9, 9]), '/out/party0/kernels.wasm'))).to.match(/^MPCC5102: kernels module \/out\/party0\/kernels\.wasm is not a valid WebAssembly module/);
    });

    it('MPCC5103 for a module without the compare kernels, naming the file and the kernels', () => {
      const m = new ModuleBuilder(16);
      addRingKernels(m);
      const msg = code(() => compileKernels(m.emit(), '/out/party1/kernels.wasm'));
      expect(msg).to.match(/^MPCC5103: kernels module \/out\/party1\/kernels\.wasm lacks kernels this runtime calls: 'compare_digits' missing/);
    });

    it('MPCC5103 for a kernel with another parameter count', () => {
      const m = new ModuleBuilder(16);
      for (const [name, arity] of genericKernels().functions) {
        const n = name === 'gemm' ? 3 : arity;
        m.func(name, Array.from({ length: n }, (_, i) => [`p${i}`, 'i32'] as const), 'none', () => []);
      }
      expect(code(() => compileKernels(m.emit(), 'stub.wasm'))).to.equal("MPCC5103: kernels module stub.wasm lacks kernels this runtime calls: 'gemm' takes 3 parameters, not 10 (written by another mpcc build?)");
    });
  });
});
