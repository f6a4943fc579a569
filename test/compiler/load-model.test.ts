import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGraphFile } from '../../compiler/load-model.js';
import { importOnnx } from '../../compiler/onnx/import.js';
import { buildZooModel } from '../../examples/zoo/index.js';
import { MpccError } from '../../ir/index.js';
import { printGraph } from '../../ir/print.js';
import { saveMir } from '../../ir/weights.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof MpccError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

describe('loadGraphFile', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mpcc-load-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads .onnx through the importer and .mir with its weights to the same graph', () => {
    const bytes = buildZooModel('tiny-cnn');
    writeFileSync(join(dir, 'tiny.onnx'), bytes);
    const fromOnnx = loadGraphFile(join(dir, 'tiny.onnx'));
    expect(printGraph(fromOnnx)).to.equal(printGraph(importOnnx(bytes)));
    saveMir(fromOnnx, join(dir, 'tiny.mir'));
    expect(printGraph(loadGraphFile(join(dir, 'tiny.mir')))).to.equal(printGraph(fromOnnx));
    expect(loadGraphFile(join(dir, 'tiny.mir'), { inputShape: [1, 3, 16, 16] }).inputs).to.deep.equal(fromOnnx.inputs);
  });

  it('rejects other file types, unreadable files and a conflicting --input-shape', () => {
    expect(codeOf(() => loadGraphFile(join(dir, 'model.pt')))).to.equal("MPCC0006: unsupported file type '.pt': expected .onnx or .mir");
    expect(codeOf(() => loadGraphFile(join(dir, 'absent.mir')))).to.match(/^MPCC0002: cannot read file '.*absent\.mir': ENOENT$/);
    expect(codeOf(() => loadGraphFile(join(dir, 'tiny.mir'), { inputShape: [1, 3, 32, 32] }))).to.match(/^MPCC1008: invalid --input-shape '1,3,32,32': .*tiny\.mir fixes input 'input' to \[1,3,16,16\]$/);
  });
});
