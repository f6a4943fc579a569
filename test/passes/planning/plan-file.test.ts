// Plan files (passes/planning/plan-file.ts) and the uniform plans (passes/planning/uniform.ts):
// a round trip through the JSON text; every bad plan gives its own code naming the file and the
// layer; the DReLU counts against a brute-force count of tiles (pixels mapped to their tile);
// --uniform-drelus' block against a brute-force search over every square size.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMir } from '../../../ir/parse.js';
import { type ChannelBlock, checkPlanGraph, checkPlanModel, parsePlan, planJson, readPlan } from '../../../passes/planning/plan-file.js';
import { clipBlock, squareBlockFor, uniformDreluPlan, uniformPlan } from '../../../passes/planning/uniform.js';
import { sha256 } from '../../../runtime/program/artifacts.js';
import { suiteTempDir } from '../../temp-dir.js';
import { errorOf } from '../util.js';

/** A float graph with ReLUs on odd maps, a ReLU6 (Clip) and a ReLU on a flat activation. */
const MODEL = `mir 1
graph @planned(%x: float32[1,3,7,5], %y: float32[1,2,1,9]) -> (%a: float32[1,3,7,5], %out: float32[1,18]) {
  %a: float32[1,3,7,5] = Relu "relu_a"(%x)
  %c: float32[1,2,1,9] = Relu "relu_b"(%y)
  %d: float32[1,2,1,9] = Clip "relu6"(%c) {max = 6, min = 0}
  %e: float32[1,18] = Flatten "flat"(%d)
  %out: float32[1,18] = Relu "relu_flat"(%e)
}
`;
const SHA = sha256(new TextEncoder().encode(MODEL));

/** A plan's JSON as a test edits it. */
interface RawLayer {
  name: string;
  shape: number[];
  blocks: unknown[];
  drelus: { baseline: number; planned: number };
  [field: string]: unknown;
}
interface RawPlan {
  model: { sha256: string; reluLayers: string[] };
  layers: RawLayer[];
  drelus: { baseline: number; planned: number };
  [field: string]: unknown;
}

/** Tiles of an h×w map under `block`, counted by mapping every pixel to its tile. */
function bruteTiles(h: number, w: number, block: ChannelBlock): number {
  if (block === 'identity') return 0;
  const tiles = new Set<string>();
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) tiles.add(`${Math.floor(i / block[0])},${Math.floor(j / block[1])}`);
  return tiles.size;
}

describe('plan files', () => {
  const dir = suiteTempDir('mpcc-plan-file-');
  const graph = parseMir(MODEL);

  it('round-trips a plan through its JSON text', () => {
    const plan = uniformPlan(graph, SHA, [4, 4], { note: 'test' });
    const text = planJson(plan);
    expect(parsePlan(text, 'p.json')).to.deep.equal(JSON.parse(JSON.stringify(plan)));
    expect(planJson(parsePlan(text, 'p.json'))).to.equal(text);
    // Only the 4-D ReLUs are planned; every Relu is recorded as the model's.
    expect(plan.layers.map((l) => l.name)).to.deep.equal(['relu_a', 'relu_b']);
    expect(plan.model.reluLayers).to.deep.equal(['relu_a', 'relu_b', 'relu_flat']);
    expect(JSON.parse(text)).to.include({ format: 'mpcc-plan', version: 1, complete: true });
    // The layers' blocks are one line each in the text.
    expect(text).to.contain('"blocks": [[4,4],[4,4],[4,4]]');
  });

  it('counts DReLUs as a brute-force count of tiles (uniform, clipped to small maps)', () => {
    for (const block of [[1, 1], [2, 2], [3, 5], [4, 4], [7, 1], [9, 9]] as [number, number][]) {
      const plan = uniformPlan(graph, SHA, block);
      let total = 0;
      for (const layer of plan.layers) {
        const [n, c, h, w] = layer.shape;
        const want = n * c * bruteTiles(h, w, [Math.min(block[0], h), Math.min(block[1], w)]);
        expect(layer.drelus, `${layer.name} ${block}`).to.deep.equal({ baseline: n * c * h * w, planned: want });
        expect(layer.blocks.every((b) => b !== 'identity' && b[0] <= h && b[1] <= w)).to.equal(true);
        total += want;
      }
      expect(plan.drelus).to.deep.equal({ baseline: 3 * 35 + 18, planned: total });
    }
    // Hand-computed: 4×4 on 7×5 is 2×2 tiles per channel, on 1×9 (clipped to 1×4) 3 tiles.
    expect(uniformPlan(graph, SHA, [4, 4]).drelus.planned).to.equal(3 * 4 + 2 * 3);
  });

  it('--uniform-drelus picks the smallest square size keeping at most R (brute force over sizes)', () => {
    for (const ratio of [1, 0.5, 0.3, 0.25, 0.1, 0.06, 0.04, 0.01]) {
      for (const [h, w] of [[7, 5], [1, 9], [32, 32], [4, 4], [16, 8], [1, 1]]) {
        let want: ChannelBlock = 'identity';
        for (let s = Math.max(h, w); s >= 1; s--) {
          const block = clipBlock([s, s], h, w);
          if (bruteTiles(h, w, block) <= ratio * h * w) want = block;
        }
        expect(squareBlockFor(h, w, ratio), `${h}x${w} R=${ratio}`).to.deep.equal(want);
      }
    }
    const plan = uniformDreluPlan(graph, SHA, 0.25);
    for (const layer of plan.layers) expect(layer.drelus.planned).to.be.at.most(0.25 * layer.drelus.baseline);
    // Hand-computed: 7×5 keeps 35·0.25 = 8.75 at most: 3×3 gives 3·2 = 6 (2×2 gives 12); 1×9
    // keeps 2.25: 1×5 gives 2 (1×4 gives 3).
    expect(plan.layers.map((l) => l.blocks[0])).to.deep.equal([[3, 3], [1, 5]]);
  });

  describe('bad plans: each its code, naming the file and the layer', () => {
    const good = (): RawPlan => JSON.parse(planJson(uniformPlan(graph, SHA, [2, 2]))) as RawPlan;
    /** Writes `plan` (an object or raw text) and returns its path. */
    const write = (name: string, plan: unknown): string => {
      const path = join(dir(), name);
      writeFileSync(path, typeof plan === 'string' ? plan : JSON.stringify(plan));
      return path;
    };
    /** The error of reading `plan` and checking it against the model and its graph. */
    const load = (name: string, plan: unknown, g = graph, modelText = MODEL) => errorOf(() => {
      const path = write(name, plan);
      const parsed = readPlan(path);
      const model = join(dir(), 'model.mir');
      writeFileSync(model, modelText);
      checkPlanModel(parsed, path, model);
      checkPlanGraph(parsed, path, g);
    });

    it('a good plan loads', () => {
      const path = write('good.json', good());
      const planned = checkPlanGraph(readPlan(path), path, graph);
      expect([...planned.keys()]).to.deep.equal(['relu_a', 'relu_b']);
    });

    it('MPCC4010 for malformed JSON, a missing field, an unknown field, wrong DReLU counts', () => {
      const e = load('broken.json', '{"format": "mpcc-plan", ');
      expect(e.code).to.equal('MPCC4010');
      expect(e.message).to.match(/^plan '.*broken\.json' is not a valid plan file: not JSON/);
      // a binary file (an ONNX model given as the plan): said so, its bytes not echoed
      writeFileSync(join(dir(), 'model-as-plan.json'), Uint8Array.from([8, 7, 18, 4, 0x93, 0xff, 0, 1, 2]));
      const binary = errorOf(() => readPlan(join(dir(), 'model-as-plan.json')));
      expect([binary.code, binary.message]).to.deep.equal(['MPCC4010', `plan '${join(dir(), 'model-as-plan.json')}' is not a valid plan file: not JSON: the file is binary (a plan is the JSON mpcc plan writes)`]);
      // another kind of JSON (a run's output): said to lack the plan's format, not "format 'undefined'"
      const run = load('run.json', { wallSeconds: 1, rounds: 3 });
      expect([run.code, run.message]).to.deep.equal(['MPCC4010', `plan '${join(dir(), 'run.json')}' is not a valid plan file: it has no "format": "mpcc-plan" (a file written by mpcc plan has; this one's keys: wallSeconds, rounds)`]);
      const noSource = good();
      delete noSource.source;
      expect(load('no-source.json', noSource).message).to.contain("'source' must be an object");
      const typo = good();
      typo.layers[0].block = [2, 2];
      expect(load('typo.json', typo).message).to.contain("layer 'relu_a' has an unknown field 'block'");
      const counts = good();
      counts.layers[1].drelus = { baseline: 18, planned: 1 };
      const c = load('counts.json', counts);
      expect(c.code).to.equal('MPCC4010');
      expect(c.message).to.contain(`layer 'relu_b': 'drelus' must be {"baseline": 18, "planned": 10}`);
      const bad = good();
      bad.layers[0].blocks[1] = [2];
      expect(load('bad-block.json', bad).message).to.contain("layer 'relu_a', channel 1: a block is [bh, bw] (integers) or \"identity\", not [2]");
    });

    it('MPCC4011 for another format or version', () => {
      const e = load('v2.json', { ...good(), version: 2 });
      expect(e.format()).to.match(/^error MPCC4011: plan '.*v2\.json' has format 'mpcc-plan' version 2; this mpcc reads format 'mpcc-plan' version 1$/);
      expect(load('other.json', { format: 'onnx' }).code).to.equal('MPCC4011');
    });

    it('MPCC4012 for a plan made for another model file', () => {
      const e = load('other-model.json', good(), graph, MODEL + '\n');
      expect(e.code).to.equal('MPCC4012');
      expect(e.message).to.contain(`it was made for sha256 ${SHA}, but '${join(dir(), 'model.mir')}' has sha256 ${sha256(new TextEncoder().encode(MODEL + '\n'))}`);
      // and the way to carry it to a fine-tuned file of the same network
      expect(e.message).to.contain(`(the same architecture fine-tuned: mpcc plan '${join(dir(), 'model.mir')}' --from '${join(dir(), 'other-model.json')}' -o PLAN2 carries the plan to it)`);
    });

    it('MPCC4013 for a layer that is not a ReLU of the model', () => {
      const plan = good();
      plan.model.reluLayers.push('flat', 'ghost');
      const renamed = { ...plan, layers: [{ ...plan.layers[0], name: 'ghost' }], drelus: plan.layers[0].drelus };
      expect(load('ghost.json', renamed).message).to.match(/: layer 'ghost' is not a ReLU layer of the model \(no node has this name\)$/);
      const flat = { ...plan, layers: [{ ...plan.layers[1], name: 'flat' }], drelus: plan.layers[1].drelus };
      expect(load('flat.json', flat).format()).to.match(/^error MPCC4013: plan '.*flat\.json': layer 'flat' is not a ReLU layer of the model \(it is a Flatten\)$/);
    });

    it('MPCC4014 for a ReLU6 (Clip): run relu6-to-relu first', () => {
      const plan = good();
      plan.model.reluLayers.push('relu6');
      const e = load('relu6.json', { ...plan, layers: [{ ...plan.layers[1], name: 'relu6' }], drelus: plan.layers[1].drelus });
      expect(e.code).to.equal('MPCC4014');
      expect(e.message).to.contain("layer 'relu6' is a Clip (ReLU6) in this model");
      expect(e.message).to.contain('run relu6-to-relu first');
    });

    it('MPCC4015 for a complete plan that misses a ReLU layer; a partial plan may', () => {
      const plan = good();
      const e = load('missing.json', { ...plan, layers: [plan.layers[0]], drelus: plan.layers[0].drelus });
      expect(e.format()).to.match(/^error MPCC4015: plan '.*missing\.json' claims every ReLU layer \("complete": true\) but misses the model's ReLU layer 'relu_b'$/);
      const path = write('partial.json', { ...plan, complete: false, layers: [plan.layers[0]], drelus: plan.layers[0].drelus });
      expect([...checkPlanGraph(readPlan(path), path, graph).keys()]).to.deep.equal(['relu_a']);
    });

    it('MPCC4016 for a wrong channel count, in the file and against the model', () => {
      const plan = good();
      plan.layers[0].blocks.pop();
      const e = load('channels.json', plan);
      expect(e.format()).to.match(/^error MPCC4016: plan '.*channels\.json': layer 'relu_a' has 2 channel blocks, but its activation \[1,3,7,5\] has 3 channels$/);
      // A consistent file for a 4-channel activation: the model's has 3.
      const four = good();
      const layer = four.layers[0];
      layer.shape = [1, 4, 7, 5];
      layer.blocks = [[2, 2], [2, 2], [2, 2], [2, 2]];
      layer.drelus = { baseline: 140, planned: 48 };
      four.drelus = { baseline: 158, planned: 58 };
      expect(load('four.json', four).message).to.match(/layer 'relu_a' has 4 channel blocks, but its activation \[1,3,7,5\] has 3 channels$/);
    });

    it('MPCC4017 for another activation shape with the same channels', () => {
      const plan = good();
      const layer = plan.layers[0];
      layer.shape = [1, 3, 8, 5];
      layer.drelus = { baseline: 120, planned: 36 };
      plan.drelus = { baseline: 138, planned: 46 };
      expect(load('shape.json', plan).format()).to.match(/^error MPCC4017: plan '.*shape\.json': layer 'relu_a' was planned for activation shape \[1,3,8,5\], the model's is \[1,3,7,5\]$/);
    });

    it('MPCC4018 for a block larger than the map or smaller than 1', () => {
      for (const [block, why] of [[[8, 1], 'taller'], [[1, 6], 'wider'], [[0, 2], 'zero'], [[2, -1], 'negative']] as const) {
        const plan = good();
        plan.layers[0].blocks[2] = block;
        const e = load(`block-${why}.json`, plan);
        expect(e.format(), why).to.match(new RegExp(`^error MPCC4018: plan '.*block-${why}\\.json': layer 'relu_a', channel 2: block \\[${block.join(', ')}\\] does not fit the 7x5 map`));
      }
    });
  });
});
