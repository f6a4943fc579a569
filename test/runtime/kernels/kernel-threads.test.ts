// Convolutions split between the main thread and the kernel worker (runtime/kernels/kernel-threads.ts)
// against the single-thread path and the BigInt reference: whoever computes which block, the
// result is the same bit for bit.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { kernelThreadStats, setKernelThreads } from '../../../runtime/kernels/kernel-threads.js';
import { zeroTests } from '../../../runtime/protocols/compare-digits.js';
import { digitField } from '../../../runtime/protocols/compare.js';
import { packField } from '../../../runtime/protocols/field-format.js';
import { convRingOf, keptPacking, keptWide } from '../../../runtime/ring/conv-blocks.js';
import * as fast from '../../../runtime/ring/ring.js';
import * as ref from '../../../runtime/ring/ring-reference.js';
import type { Conv2dParams } from '../../../runtime/ring/windows.js';
import { TestRandom } from '../ring/ring.test.js';

/** Layers past the threshold for two threads: a 3×3 layer with several column blocks, a strided
 * layer with one partial column block (split by rows), a grouped 1×1 layer with an odd
 * channel count per group (an unpacked last GEMM row), two images. */
const LAYERS: Conv2dParams[] = [
  { inShape: [1, 32, 40, 40], weightShape: [48, 32, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
  { inShape: [1, 256, 9, 9], weightShape: [130, 256, 3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
  { inShape: [2, 96, 24, 24], weightShape: [66, 48, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2 },
];

/** The reference on the first `channels` output channels of image 0 only (BigInt is slow). */
function referenceChannels(x: BigUint64Array, w: BigUint64Array, p: Conv2dParams, channels: number): BigUint64Array {
  const [, c, h, wd] = p.inShape;
  const [, cg, kh, kw] = p.weightShape;
  const one: Conv2dParams = { ...p, inShape: [1, c, h, wd], weightShape: [channels, cg, kh, kw], group: 1 };
  if (p.group !== 1) one.inShape = [1, cg, h, wd]; // channels of group 0 read its own inputs
  return ref.conv2d(x.subarray(0, one.inShape[1] * h * wd), w.subarray(0, channels * cg * kh * kw), one);
}

describe('runtime/kernel-threads: convolutions on two threads', () => {
  after(() => setKernelThreads(true));

  // Any weights, then 32-bit weights kept packed as P1 keeps its own (keepConvWeights: the
  // worker reads the shared packing), then any weights in Z_2^32 (gemmRing32: only the low words
  // are the product's), then 64-bit weights kept as P0 keeps W − B and P2 B (the worker reads
  // their kept shared copy in Z_2^64, their kept low-word packing in Z_2^32). In Z_2^48 (a program on Z_2^40 or Z_2^48):
  // weights that fit in 16 bits run gemmRing48, kept or not; wider ones gemm32 or gemm.
  const CASES = [
    { kept: false, small: false, ring: 64, seed: 77, title: 'equal the single-thread result and the BigInt reference, with blocks on both threads' },
    { kept: true, small: true, ring: 64, seed: 78, title: 'weights kept packed: the worker reads the shared packing, same result' },
    { kept: false, small: false, ring: 32, seed: 79, title: 'in Z_2^32 (gemmRing32): equal the single-thread result, low words the BigInt reference\'s, blocks on both threads' },
    { kept: true, small: false, ring: 64, seed: 80, title: 'kept 64-bit weights (a mask W − B): the worker reads their kept shared copy, same result' },
    { kept: true, small: false, ring: 32, seed: 81, title: 'kept 64-bit weights in Z_2^32: the worker reads their kept low-word packing, same low words' },
    { kept: false, small: 16, ring: 48, seed: 82, title: 'in Z_2^48, 16-bit weights (gemmRing48): equal the single-thread result, low 48 bits the BigInt reference\'s' },
    { kept: true, small: 16, ring: 48, seed: 83, title: 'in Z_2^48, 16-bit weights kept: the worker reads the shared 16-bit packing, same result' },
    { kept: true, small: true, ring: 48, seed: 84, title: 'in Z_2^48, 32-bit weights kept (gemm32): the worker reads the shared 32-bit packing, same result' },
    { kept: true, small: false, ring: 48, seed: 85, title: 'in Z_2^48, kept 64-bit weights: the worker reads their kept shared copy, same result' },
  ];
  for (const { kept, small, ring, seed, title } of CASES)
    it(title, async () => {
      const rnd = new TestRandom(seed);
      const seen = (a: ArrayLike<bigint>) => Array.from(a, (v) => (ring < 64 ? BigInt.asUintN(ring, v) : v));
      setKernelThreads(true);
      const before = kernelThreadStats();
      for (const p of LAYERS) {
        const [n, c, h, wd] = p.inShape;
        const [o, cg, kh, kw] = p.weightShape;
        const x = rnd.ring(n * c * h * wd);
        const bound = small === 16 ? 2 ** 15 - 1 : 2 ** 31;
        const w = small ? BigUint64Array.from({ length: o * cg * kh * kw }, () => BigInt.asUintN(64, BigInt(rnd.int(-bound, bound - 1)))) : rnd.ring(o * cg * kh * kw);
        setKernelThreads(false);
        const alone = fast.conv2d(x, w, p, undefined, ring);
        if (kept) {
          fast.keepConvWeights(w, p, ring);
          // What the worker is given instead of a copy per call: a packing, or the shared weights.
          expect(keptPacking(w, p, convRingOf(ring)) !== null || keptWide(w, p) !== null, `${JSON.stringify(p)}: kept`).to.equal(true);
          if (ring === 48) expect(keptPacking(w, p, 48)?.i16 ?? false, `${JSON.stringify(p)}: 16-bit packing`).to.equal(small === 16);
          expect(keptWide(w, p) !== null, `${JSON.stringify(p)}: shared 64-bit weights`).to.equal(!small && ring !== 32);
        }
        setKernelThreads(true);
        // The worker starts on the first job; give it time to come up, then compare every run:
        // at least four, and on until the worker has claimed blocks (a loaded machine may leave
        // it no core for a while).
        for (let run = 0; run < 4 || (kernelThreadStats().workerBlocks === before.workerBlocks && run < 40); run++) {
          expect(Buffer.from(fast.conv2d(x, w, p, undefined, ring).buffer).equals(Buffer.from(alone.buffer)), `${JSON.stringify(p)} run ${run}`).to.equal(true);
          await sleep(50);
        }
        const plane = alone.length / n / o;
        expect(seen(alone.subarray(0, 2 * plane))).to.deep.equal(seen(referenceChannels(x, w, p, 2)));
      }
      const after = kernelThreadStats();
      expect(after.jobs - before.jobs).to.be.at.least(4 * LAYERS.length);
      // Both threads computed blocks (the claims are a race, but the idle worker takes some and
      // the main thread always takes its first).
      expect(after.workerBlocks - before.workerBlocks).to.be.above(0);
      expect(after.mainBlocks - before.mainBlocks).to.be.above(0);
    });

  it('the helper’s zero test equals the one-thread result and a digit-by-digit brute force', async () => {
    // k = 64: 8 units of 49 bits, an element on whole bytes (two threads); k = 16: 4 units of
    // 17 bits, elements not on byte boundaries (one thread).
    for (const [k, jobs] of [[64, 3], [16, 0]]) {
      const { p } = digitField(k);
      const n = Math.ceil((1 << 21) / k) + 777; // past the two-thread threshold, a ragged last block
      const da = Uint8Array.from(randomBytes(n * k), (v) => v % p);
      // Element i gets a cancelling digit pair iff i % 3 = 0.
      const db = Uint8Array.from(da, (v, j) => (Math.floor(j / k) % 3 === 0 && j % k === (7 * Math.floor(j / k)) % k ? (p - v) % p : (p - v + 1 + (j % (p - 1))) % p));
      const want = new Uint8Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) if ((da[i * k + j] + db[i * k + j]) % p === 0) want[i] = 1;
      const a = packField(da, p);
      const b = packField(db, p);
      setKernelThreads(false);
      const alone = zeroTests(a, b, n, k, p);
      setKernelThreads(true);
      const before = kernelThreadStats().jobs;
      for (let run = 0; run < 3; run++) {
        expect(Buffer.from(zeroTests(a, b, n, k, p)).equals(Buffer.from(want)), `k=${k} run ${run}`).to.equal(true);
        await sleep(50);
      }
      expect(Buffer.from(alone).equals(Buffer.from(want))).to.equal(true);
      expect(kernelThreadStats().jobs - before).to.equal(jobs);
    }
  });
});
