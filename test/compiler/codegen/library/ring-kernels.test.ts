// Every GEMM micro-kernel variant the ring kernels generator can emit (not only the one the
// runtime ships) against the BigInt reference matmul, edges included.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DEFAULT_TILE, RING32_TILE, type GemmTile, type Ring32Tile, type Ring48Tile } from '../../../../compiler/codegen/library/ring-kernels.js';
import { emitGenericKernels } from '../../../../compiler/codegen/library/runtime-kernels.js';
import { matmul } from '../../../../runtime/ring/ring-reference.js';

interface GemmExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  packA(a: number, lda: number, m: number, k: number, out: number): void;
  gemm(ap: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  packA32(a: number, lda: number, m: number, k: number, out: number): number;
  prepB32(b: number, ldb: number, k: number, n: number, out: number): void;
  gemm32(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  prepBRing32(b: number, ldb: number, k: number, n: number, out: number): void;
  gemmRing32(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  tileColsRing32(): number;
  packA16(a: number, lda: number, m: number, k: number, out: number): number;
  prepBRing48(b: number, ldb: number, k: number, n: number, out: number): void;
  gemmRing48(ap: number, a: number, lda: number, bp: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number): void;
  tileColsRing48(): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

const TILES: GemmTile[] = [
  // Small slab depths so the test shapes cross several k slabs.
  { rows: 1, cols: 1, kind: 'scalar', depth: 256 },
  { rows: 2, cols: 2, kind: 'scalar', depth: 3 },
  { rows: 4, cols: 2, kind: 'scalar', depth: 5 },
  { rows: 2, cols: 4, kind: 'simd64', depth: 4 },
  { rows: 1, cols: 4, kind: 'simd32', depth: 7 },
  { rows: 2, cols: 4, kind: 'simd32', depth: 2 },
  { rows: 3, cols: 8, kind: 'simd32', depth: 6 },
  { rows: 2, cols: 6, kind: 'hybrid', depth: 5 },
  { rows: 2, cols: 6, kind: 'hybrid', depth: 7, unroll: 2 },
  { rows: 1, cols: 5, kind: 'hybrid', depth: 256 },
];

/** Entries that fit in 32 bits (two's complement), the extremes and small values mixed in. */
function ring32(n: number): BigUint64Array {
  const words = new Int32Array(randomBytes(n * 4).buffer, 0, n);
  const edges = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 3, -4096];
  return BigUint64Array.from(words, (v, i) => BigInt.asUintN(64, BigInt(i % 3 === 0 ? edges[(v >>> 0) % edges.length] : v)));
}

function ring(n: number): BigUint64Array {
  return new BigUint64Array(randomBytes(n * 8).buffer, 0, n);
}

describe('compiler/codegen/ring-kernels: GEMM variants against the reference', () => {
  for (const tile of TILES) {
    it(`${tile.kind} ${tile.rows}×${tile.cols}, k slabs of ${tile.depth}${tile.unroll === 2 ? ', unrolled' : ''}`, () => {
      const k = new WebAssembly.Instance(new WebAssembly.Module(emitGenericKernels(tile)), {}).exports as GemmExports;
      k.memory.grow(64);
      for (const [m, kk, n] of [[1, 1, 1], [1, 5, 9], [2, 3, 4], [5, 7, 3], [7, 13, 10], [8, 16, 8], [9, 4, 17], [3, 0, 5], [6, 31, 9]]) {
        const a = ring(m * kk);
        const b = ring(kk * n);
        // B as a column block of a wider matrix (ldb > n) and C likewise, as the conv uses them.
        const ldb = n + 3;
        const ldc = n + 5;
        const view = (at: number, len: number) => new BigUint64Array(k.memory.buffer, at, len);
        const A = 0;
        const AP = 65536;
        const B = 131072;
        const C = 196608;
        view(A, m * kk).set(a);
        for (let t = 0; t < kk; t++) view(B + t * ldb * 8, n).set(b.subarray(t * n, (t + 1) * n));
        view(C, m * ldc).fill(7n);
        k.packA(A, kk, m, kk, AP);
        k.gemm(AP, A, kk, B, ldb, C, ldc, m, kk, n);
        const want = matmul(a, b, m, kk, n);
        for (let i = 0; i < m; i++) {
          expect(Array.from(view(C + i * ldc * 8, n)), `${m}×${kk}×${n} row ${i}`).to.deep.equal(Array.from(want.subarray(i * n, (i + 1) * n)));
          expect(view(C + (i * ldc + n) * 8, ldc - n).every((v) => v === 7n), 'writes stay inside C').to.equal(true);
        }
      }
    });
  }
});

/** A GEMM case in the kernels' memory: A (m×k) at A, B (k×n, row stride n + 3) at B, C (row
 * stride n + 5) filled with 7 to see stray writes; AP and BP free for the packings. */
function layGemm(k: GemmExports, a: BigUint64Array, b: BigUint64Array, m: number, kk: number, n: number) {
  const ldb = n + 3;
  const ldc = n + 5;
  const view = (at: number, len: number) => new BigUint64Array(k.memory.buffer, at, len);
  const [A, AP, B, BP, C] = [0, 65536, 131072, 196608, 262144];
  view(A, m * kk).set(a);
  for (let t = 0; t < kk; t++) view(B + t * ldb * 8, n).set(b.subarray(t * n, (t + 1) * n));
  view(C, m * ldc).fill(7n);
  return { ldb, ldc, view, A, AP, B, BP, C };
}

describe('compiler/codegen/ring-kernels: the GEMM of 32-bit A (packA32, prepB32, gemm32) against the reference', () => {
  for (const tile of TILES) {
    it(`${tile.rows}×${Math.max(4, tile.cols)}, k slabs of ${tile.depth}`, () => {
      const k = new WebAssembly.Instance(new WebAssembly.Module(emitGenericKernels(tile)), {}).exports as GemmExports;
      k.memory.grow(64);
      for (const [m, kk, n] of [[1, 1, 1], [1, 5, 9], [2, 3, 4], [5, 7, 3], [7, 13, 10], [8, 16, 8], [9, 4, 17], [3, 0, 5], [6, 31, 9], [4, 9, 24], [5, 6, 12]]) {
        const a = ring32(m * kk);
        const b = ring(kk * n);
        const { ldb, ldc, view, A, AP, B, BP, C } = layGemm(k, a, b, m, kk, n);
        expect(k.packA32(A, kk, m, kk, AP), 'every entry fits').to.equal(1);
        k.prepB32(B, ldb, kk, n, BP);
        // With whole column tiles only, A itself is not read (a convolution passes none).
        if (n % Math.max(4, tile.cols) === 0) view(A, m * kk).fill(0xdeadbeefn);
        k.gemm32(AP, A, kk, BP, B, ldb, C, ldc, m, kk, n);
        const want = matmul(a, b, m, kk, n);
        for (let i = 0; i < m; i++) {
          expect(Array.from(view(C + i * ldc * 8, n)), `${m}×${kk}×${n} row ${i}`).to.deep.equal(Array.from(want.subarray(i * n, (i + 1) * n)));
          expect(view(C + (i * ldc + n) * 8, ldc - n).every((v) => v === 7n), 'writes stay inside C').to.equal(true);
        }
        // One entry just outside the 32-bit range, in a packed panel or in a row past the last.
        for (const v of [1n << 31n, BigInt.asUintN(64, -(1n << 31n) - 1n), 1n << 32n]) {
          if (m * kk === 0) continue;
          const bad = a.slice();
          bad[(m * kk) >> 1] = v;
          view(A, m * kk).set(bad);
          expect(k.packA32(A, kk, m, kk, AP), `${v} does not fit`).to.equal(0);
          view(A, m * kk).set(a);
          bad.set(a);
          bad[m * kk - 1] = v;
          view(A, m * kk).set(bad);
          expect(k.packA32(A, kk, m, kk, AP), `${v} in the last row does not fit`).to.equal(0);
        }
      }
    });
  }
});

describe('compiler/codegen/ring-kernels: the GEMM of a program on Z_2^32 (packA32, prepBRing32, gemmRing32) against the reference mod 2^32', () => {
  const low = (v: bigint) => v & 0xffffffffn;
  const RING32: Ring32Tile[] = [{ cols: 4, depth: 3 }, { cols: 8, depth: 5 }, { cols: 12, depth: 7 }, { cols: 16, depth: 256 }];
  for (const rows of [1, 2, 3, 4])
    for (const r32 of RING32) {
      it(`${rows}×${r32.cols}, k slabs of ${r32.depth}: A and B with 64-bit entries (only their low words count)`, () => {
        const tile: GemmTile = { rows, cols: 6, kind: 'hybrid', depth: 256 };
        const k = new WebAssembly.Instance(new WebAssembly.Module(emitGenericKernels(tile, r32)), {}).exports as GemmExports;
        expect(k.tileColsRing32()).to.equal(r32.cols);
        k.memory.grow(64);
        for (const [m, kk, n] of [[1, 1, 1], [1, 5, 9], [2, 3, 4], [5, 7, 3], [7, 13, 10], [8, 16, 8], [9, 4, 17], [3, 0, 5], [6, 31, 9], [4, 9, 24], [5, 6, 12], [3, 11, 48]]) {
          const a = ring(m * kk);
          const b = ring(kk * n);
          const { ldb, ldc, view, A, AP, B, BP, C } = layGemm(k, a, b, m, kk, n);
          k.packA32(A, kk, m, kk, AP);
          k.prepBRing32(B, ldb, kk, n, BP);
          // With whole column tiles only, A itself is not read (a convolution passes none).
          if (n % r32.cols === 0) view(A, m * kk).fill(0xdeadbeefn);
          k.gemmRing32(AP, A, kk, BP, B, ldb, C, ldc, m, kk, n);
          const want = matmul(a, b, m, kk, n);
          for (let i = 0; i < m; i++) {
            expect(Array.from(view(C + i * ldc * 8, n), low), `${m}×${kk}×${n} row ${i}`).to.deep.equal(Array.from(want.subarray(i * n, (i + 1) * n), low));
            expect(view(C + (i * ldc + n) * 8, ldc - n).every((v) => v === 7n), 'writes stay inside C').to.equal(true);
          }
        }
      });
    }
});

describe('compiler/codegen/ring-kernels: the GEMM of 16-bit A in Z_2^48 (packA16, prepBRing48, gemmRing48) against the reference mod 2^48', () => {
  const low48 = (v: bigint) => BigInt.asUintN(48, v);
  /** Entries in [−(2^15 − 1), 2^15 − 1], the extremes and small values mixed in. */
  const ring16 = (n: number) => {
    const words = new Int16Array(randomBytes(n * 2).buffer, 0, n);
    const edges = [0, 1, -1, 2 ** 15 - 1, -(2 ** 15 - 1), 3, -4096];
    return BigUint64Array.from(words, (v, i) => BigInt.asUintN(64, BigInt(i % 3 === 0 ? edges[(v + 32768) % edges.length] : Math.max(v, -(2 ** 15 - 1)))));
  };
  const RING48: Ring48Tile[] = [{ rows: 1, vectors: 1, depth: 2 }, { rows: 2, vectors: 1, depth: 4 }, { rows: 2, vectors: 2, depth: 6 }, { rows: 3, vectors: 1, depth: 256 }, { rows: 2, vectors: 1, depth: 256 }];
  for (const r48 of RING48)
    it(`${r48.rows}×${4 * r48.vectors}, k slabs of ${r48.depth}: B with 64-bit entries, odd and even k, rows past the last panel`, () => {
      const k = new WebAssembly.Instance(new WebAssembly.Module(emitGenericKernels(DEFAULT_TILE, RING32_TILE, r48)), {}).exports as GemmExports;
      expect(k.tileColsRing48()).to.equal(4 * r48.vectors);
      k.memory.grow(64);
      for (const [m, kk, n] of [[1, 1, 1], [1, 5, 9], [2, 3, 4], [5, 7, 3], [7, 13, 10], [8, 16, 8], [9, 4, 17], [3, 0, 5], [6, 31, 9], [4, 9, 24], [5, 6, 12], [3, 11, 48], [2, 513, 8]]) {
        const a = ring16(m * kk);
        const b = ring(kk * n);
        const { ldb, ldc, view, A, AP, B, BP, C } = layGemm(k, a, b, m, kk, n);
        expect(k.packA16(A, kk, m, kk, AP), 'every entry fits').to.equal(1);
        k.prepBRing48(B, ldb, kk, n, BP);
        // With whole column tiles only, A itself is not read (a convolution passes none).
        if (n % (4 * r48.vectors) === 0) view(A, m * kk).fill(0xdeadbeefn);
        k.gemmRing48(AP, A, kk, BP, B, ldb, C, ldc, m, kk, n);
        const want = matmul(a, b, m, kk, n);
        for (let i = 0; i < m; i++) {
          expect(Array.from(view(C + i * ldc * 8, n), low48), `${m}×${kk}×${n} row ${i}`).to.deep.equal(Array.from(want.subarray(i * n, (i + 1) * n), low48));
          expect(view(C + (i * ldc + n) * 8, ldc - n).every((v) => v === 7n), 'writes stay inside C').to.equal(true);
        }
        // One entry just outside [−(2^15 − 1), 2^15 − 1], in a packed panel or in a row past the last.
        for (const v of [1n << 15n, BigInt.asUintN(64, -(1n << 15n)), 1n << 32n]) {
          if (m * kk === 0) continue;
          view(A, m * kk).set(a);
          const bad = a.slice();
          bad[(m * kk) >> 1] = v;
          view(A, m * kk).set(bad);
          expect(k.packA16(A, kk, m, kk, AP), `${v} does not fit`).to.equal(0);
          bad.set(a);
          bad[m * kk - 1] = v;
          view(A, m * kk).set(bad);
          expect(k.packA16(A, kk, m, kk, AP), `${v} in the last row does not fit`).to.equal(0);
        }
      }
    });
});
