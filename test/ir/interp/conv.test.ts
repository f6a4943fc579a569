// Conv kernel (im2col + packed GEMM, depthwise direct loops, two threads) against
// onnxruntime-node on single-op models with random shapes and attribute variants.
import { expect } from 'chai';
import '../../../ir/interp/index.js';
import { setWinograd } from '../../../ir/interp/conv.js';
import { setInterpreterThreads, interpreterThreads } from '../../../ir/interp/parallel.js';
import { TestRandom, ortOp, relError, runKernel, tensorFrom, type Operand } from './support.js';

interface ConvCase {
  n: number; c: number; h: number; w: number; o: number; group: number;
  kh: number; kw: number; strides: number[]; pads: number[]; dilations: number[]; bias: boolean;
}

function randomCase(r: TestRandom): ConvCase {
  const group = r.pick([1, 1, 2, 3]);
  const depthwise = r.next() < 0.25;
  const g = depthwise ? r.int(2, 6) : group;
  const cg = depthwise ? 1 : r.int(1, 5);
  const og = depthwise ? r.pick([1, 2]) : r.int(1, 9);
  const kh = r.pick([1, 2, 3, 5]), kw = r.pick([1, 3, kh]);
  return {
    n: r.pick([1, 1, 2]), c: cg * g, h: r.int(4, 13), w: r.int(4, 13), o: og * g, group: g, kh, kw,
    strides: [r.int(1, 3), r.int(1, 3)], pads: [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)],
    dilations: [r.pick([1, 1, 2]), r.pick([1, 1, 2])], bias: r.next() < 0.7,
  };
}

async function check(k: ConvCase, r: TestRandom, precision: 'float32' | 'float64' = 'float32'): Promise<number> {
  const x: Operand = { data: r.floats(k.n * k.c * k.h * k.w), shape: [k.n, k.c, k.h, k.w] };
  const w: Operand = { data: r.floats(k.o * (k.c / k.group) * k.kh * k.kw, -1, 1), shape: [k.o, k.c / k.group, k.kh, k.kw], constant: true };
  const b: Operand | null = k.bias ? { data: r.floats(k.o), shape: [k.o], constant: true } : null;
  const attrs = { strides: k.strides, pads: k.pads, dilations: k.dilations, group: k.group, kernel_shape: [k.kh, k.kw] };
  const ref = await ortOp('Conv', b ? [x, w, b] : [x, w], attrs);
  const { kernel_shape: _, ...canonical } = attrs;
  const out = runKernel('Conv', [tensorFrom(x), tensorFrom(w), b ? tensorFrom(b) : undefined], canonical, ref.dims, 'float32', precision);
  expect(out.shape).to.deep.equal(ref.dims);
  return relError(out.data, ref.data);
}

describe('interpreter: Conv', function () {
  this.timeout(60000);

  it('matches onnxruntime on 60 random convolutions (groups, depthwise, strides, dilations, asymmetric pads)', async () => {
    const r = new TestRandom(7);
    for (let i = 0; i < 60; i++) {
      const k = randomCase(r);
      const span = (d: number, kk: number) => d * (kk - 1) + 1;
      if (k.h + k.pads[0] + k.pads[2] < span(k.dilations[0], k.kh) || k.w + k.pads[1] + k.pads[3] < span(k.dilations[1], k.kw)) continue;
      const err = await check(k, r, i % 4 === 3 ? 'float64' : 'float32');
      expect(err, JSON.stringify(k)).to.be.at.most(1e-4);
    }
  });

  it('matches onnxruntime on ResNet-sized layers, split over two threads and on one', async () => {
    const layers: ConvCase[] = [
      { n: 1, c: 64, h: 28, w: 28, o: 64, group: 1, kh: 3, kw: 3, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], bias: true },
      { n: 1, c: 128, h: 14, w: 14, o: 256, group: 1, kh: 1, kw: 1, strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], bias: false },
      { n: 1, c: 256, h: 7, w: 7, o: 70, group: 1, kh: 1, kw: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], bias: true },
      { n: 2, c: 3, h: 40, w: 40, o: 16, group: 1, kh: 7, kw: 7, strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], bias: true },
      { n: 1, c: 32, h: 17, w: 17, o: 32, group: 32, kh: 3, kw: 3, strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], bias: true },
      { n: 1, c: 32, h: 16, w: 16, o: 24, group: 1, kh: 3, kw: 3, strides: [1, 1], pads: [6, 6, 6, 6], dilations: [6, 6], bias: true },
    ];
    const before = interpreterThreads();
    try {
      for (const threads of [2, 1]) {
        setInterpreterThreads(threads);
        const r = new TestRandom(11);
        for (const k of layers) expect(await check(k, r), `${threads} threads ${JSON.stringify(k)}`).to.be.at.most(1e-4);
      }
    } finally {
      setInterpreterThreads(before);
    }
  });

  it('Winograd F(4×4,3×3) path matches onnxruntime (odd sizes, asymmetric pads, batch 2, float64), and so does the GEMM path', async () => {
    const r = new TestRandom(17);
    const cases: ConvCase[] = [];
    for (let i = 0; i < 12; i++) {
      cases.push({
        n: r.pick([1, 2]), c: r.int(16, 40), h: r.int(7, 15), w: r.int(7, 15), o: r.int(16, 40), group: 1, kh: 3, kw: 3,
        strides: [1, 1], pads: [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)], dilations: [1, 1], bias: r.next() < 0.5,
      });
    }
    for (const winograd of [true, false]) {
      const before = setWinograd(winograd);
      try {
        for (const [i, k] of cases.entries()) {
          const err = await check(k, r, i % 3 === 2 ? 'float64' : 'float32');
          expect(err, `winograd=${winograd} ${JSON.stringify(k)}`).to.be.at.most(1e-4);
        }
      } finally {
        setWinograd(before);
      }
    }
  });
});
