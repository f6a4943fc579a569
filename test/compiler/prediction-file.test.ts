// compiler/prediction-file.ts: `mpcc eval --predictions FILE` written batch by batch. Read back
// by the .npy decoder (readNpyIntegers) and compared byte for byte with encodeNpy of the whole
// array: uint8 up to 256 classes, int32 above, a wide file narrowed at the end (across the
// narrowing's chunks); nothing at FILE before it is done; a failed evaluation (a bad label at a
// later batch) or an unwritable path leaves no FILE and no temporary file beside it.

import { expect } from 'chai';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PredictionFile } from '../../compiler/prediction-file.js';
import { encodeNpy, readNpyIntegers } from '../../compiler/npy.js';
import { runEval } from '../../compiler/commands/eval.js';
import { buildZooFiles } from '../../examples/zoo/index.js';
import { MpccError } from '../../runtime/diagnostics.js';
import { suiteTempDir } from '../temp-dir.js';

/** Deterministic classes in [0, classes): a simple LCG, independent of the code under test. */
function classesOf(n: number, classes: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % classes;
  });
}

describe('eval --predictions: the prediction file (prediction-file.ts)', function () {
  this.timeout(60000);
  const dir = suiteTempDir('mpcc-pred-');
  const file = (name: string) => join(dir(), name);
  const write = (path: string, n: number, map: number[], classes: number, values: number[], batch: number, seen?: number) => {
    const f = new PredictionFile(path, n, map, classes);
    for (let i = 0; i < values.length; i += batch) {
      f.add(values.slice(i, i + batch));
      expect(existsSync(path), 'FILE before it is done').to.equal(false);
    }
    f.finish(seen);
  };

  it('a classifier with 10 classes: uint8 [n], the bytes encodeNpy writes for the whole array', () => {
    const values = classesOf(37, 10, 1);
    write(file('cls.npy'), 37, [], 10, values, 5);
    expect(Buffer.from(readFileSync(file('cls.npy')))).to.deep.equal(Buffer.from(encodeNpy([37], values, '|u1')));
    const back = readNpyIntegers(file('cls.npy'));
    expect([back.shape, Array.from(back.data)]).to.deep.equal([[37], values]);
  });

  it('a segmenter with 300 classes: int32 [n, H, W]; a wide file narrowed at the end to uint8 when the classes seen are few, across chunks', () => {
    const map = [7, 9];
    const values = classesOf(3 * 63, 300, 2);
    write(file('seg.npy'), 3, map, 300, values, 63);
    expect(Buffer.from(readFileSync(file('seg.npy')))).to.deep.equal(Buffer.from(encodeNpy([3, ...map], values, '<i4')));
    // 1.5 M pixels (the narrowing converts 2^20 at a time), classes unknown when opened, 21 seen
    const big = classesOf(6 * 500 * 500, 21, 3);
    write(file('big.npy'), 6, [500, 500], 1 << 16, big, 250000, 21);
    expect(Buffer.from(readFileSync(file('big.npy'))).equals(Buffer.from(encodeNpy([6, 500, 500], big, '|u1')))).to.equal(true);
    // seen above 256: stays int32
    const many = classesOf(40, 1000, 4);
    write(file('many.npy'), 40, [], 1 << 16, many, 8, 1000);
    expect(Buffer.from(readFileSync(file('many.npy')))).to.deep.equal(Buffer.from(encodeNpy([40], many, '<i4')));
    expect(readdirSync(dir()).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
  });

  it('abort, an unwritable path, or a failed evaluation leave no FILE and no temporary file', async () => {
    const f = new PredictionFile(file('gone.npy'), 4, [], 10);
    f.add([1, 2]);
    f.abort();
    expect(readdirSync(dir()).filter((n) => n.startsWith('gone'))).to.deep.equal([]);
    writeFileSync(file('a-file'), 'x');
    const code = (() => {
      try {
        new PredictionFile(join(file('a-file'), 'p.npy'), 4, [], 10);
        return 'ok';
      } catch (e) {
        return `${(e as MpccError).code}: ${(e as Error).message}`;
      }
    })();
    expect(code).to.match(/^MPCC0003: .*a-file\/p\.npy': '.*a-file' is a file, not a folder/);
    // an existing folder as FILE: refused when opened, not after the evaluation
    mkdirSync(file('a-folder'));
    expect(() => new PredictionFile(file('a-folder'), 4, [], 10)).to.throw(/cannot write file '.*a-folder': it is a folder/);
    expect(readdirSync(dir()).filter((n) => n.startsWith('a-folder'))).to.deep.equal(['a-folder']);
    // mpcc eval: a bad label at image 5 of 6, evaluated two at a time, after two batches were written
    mkdirSync(file('eval'), { recursive: true });
    writeFileSync(file('eval/tiny.onnx'), buildZooFiles('tiny-cnn').model);
    writeFileSync(file('eval/x.npy'), encodeNpy([6, 3, 16, 16], Array.from({ length: 6 * 768 }, (_, i) => Math.sin(i / 11))));
    writeFileSync(file('eval/y.npy'), encodeNpy([6], [0, 1, 2, 3, 4, 99], '<i8'));
    const failed = await runEval(file('eval/tiny.onnx'), { data: file('eval/x.npy'), labels: file('eval/y.npy'), batchSize: '2', predictions: file('eval/pred.npy') }).then(
      () => 'ok',
      (e: MpccError) => e.code,
    );
    expect(failed).to.equal('MPCC3006');
    expect(readdirSync(file('eval')).sort()).to.deep.equal(['tiny.onnx', 'x.npy', 'y.npy']);
  });
});
