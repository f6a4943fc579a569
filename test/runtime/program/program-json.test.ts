// A party's program is data: program.json is parsed and validated (validate.ts) before any
// connection, and a tampered or malformed one is refused with MPCC5222 naming the file and
// the field, even when the folder's manifest was resealed over it (whoever hands out the
// folder can do that). Nothing under OUT is ever imported or evaluated: the runtime's and
// the commands' sources are searched for dynamic import, eval and Function.
import { expect } from 'chai';
import { cpSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildZooFiles } from '../../../examples/zoo/index.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runParty } from '../../../compiler/commands/party.js';
import { freeLocalAddresses } from '../../../runtime/session/connect.js';
import { loadPartyArtifacts, parseProgram, PROGRAM_LIMITS, type Program } from '../../../runtime/program/index.js';
import { suiteTempDir } from '../../temp-dir.js';
import { resealParty } from './reseal.js';
import { residualProgram } from './residual.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);

describe('runtime: program.json is validated data', function () {
  this.timeout(60000);
  const tmp = suiteTempDir('mpcc-program-json-');
  let out = '';
  let text = '';
  let program: Program;
  before(() => {
    writeFileSync(join(tmp(), 'tiny.onnx'), buildZooFiles('tiny-cnn').model);
    out = join(tmp(), 'out');
    runCompile(join(tmp(), 'tiny.onnx'), { output: out });
    text = readFileSync(join(out, 'party0/program.json'), 'utf8');
    program = JSON.parse(text) as Program;
  });

  /** A copy of party 0's folder whose program.json is `edited`, its manifest resealed. */
  let copies = 0;
  function tampered(edited: string): string {
    const folder = join(tmp(), `tampered${copies++}`, 'party0');
    cpSync(join(out, 'party0'), folder, { recursive: true });
    writeFileSync(join(folder, 'program.json'), edited);
    resealParty(folder);
    return folder;
  }
  const edit = (f: (p: Program) => void): string => {
    const p = JSON.parse(text) as Program;
    f(p);
    return JSON.stringify(p);
  };

  it('accepts the compiled program as it is, and refuses it for another party', () => {
    expect(parseProgram(text, 'p.json', 0)).to.deep.equal(program);
    expect(() => parseProgram(text, 'p.json', 1)).to.throw(/MPCC5222|party/).with.property('code', 'MPCC5222');
  });

  const cases: [string, () => string, RegExp][] = [
    ['an unknown step kind', () => edit((p) => (p.steps[1].kind = 'shell')), /steps\[1\]\.kind: unknown step kind "shell"/],
    ['a step reading a value no earlier step produced', () => edit((p) => (p.steps[2].inputs = ['nowhere'])), /steps\[2\]\.inputs\[0\]: value 'nowhere' is read before any step produces it/],
    ['a step reading a value produced later', () => edit((p) => (p.steps[1].inputs = [p.steps[3].outputs[0]])), /steps\[1\]\.inputs\[0\]: value '.*' is read before any step produces it/],
    ['a huge size', () => edit((p) => (p.steps[0].params.size = 1e12)), /steps\[0\]\.params\.size: 1000000000000 is beyond the size limit/],
    ['a size that disagrees with the input shape', () => edit((p) => (p.steps[0].params.size = 769)), /steps\[0\]\.params\.size: 769 elements, the input shape \[1,3,16,16\] has 768/],
    ['a huge input shape', () => edit((p) => (p.input.shape = [1 << 20, 1 << 20])), /input\.shape: .* elements, at most/],
    ['too many steps', () => edit((p) => (p.steps = Array.from({ length: PROGRAM_LIMITS.steps + 1 }, () => p.steps[8]))), /steps: 200001 entries, at most 200000/],
    ['a file that is not JSON', () => '{ "format": 1, ', /\(file\): not JSON/],
    ['a JavaScript module', () => `export default ${text};\nimport('node:child_process').then((c) => c.execSync('touch pwned'));`, /\(file\): not JSON/],
    ['a script-like string where a number belongs', () => edit((p) => ((p.steps[0].params as Record<string, unknown>).size = "require('child_process').execSync('touch pwned')")), /steps\[0\]\.params\.size: expected an integer, got "require/],
    ['a script-like string as a kind', () => edit((p) => (p.steps[4].kind = 'constructor')), /steps\[4\]\.kind: unknown step kind "constructor"/],
    ['a prototype key in parameters', () => text.replace('"params":{"size":768}', '"params":{"size":768,"__proto__":{"polluted":1}}'), /steps\[0\]\.params\.__proto__: a reserved key/],
    ['an unknown top-level field', () => edit((p) => ((p as unknown as Record<string, unknown>).code = 'alert(1)')), /code: unknown field/],
    ['a window out of range', () => edit((p) => (p.steps.find((s) => s.kind === 'relu')!.params.window = { lo: 0, k: 65 })), /params\.window\.k: 65 is outside \[1, 64\]/],
    ['a weight step naming no setup', () => edit((p) => (p.steps[1].params.layer = 'other')), /steps\[1\]\.params\.layer: no setup step for layer 'other'/],
    ['a pool window larger than its input', () => edit((p) => ((p.steps.find((s) => s.kind === 'maxPool')!.params.pool as { kernel: number[] }).kernel = [40, 2])), /params\.pool: a 40×2 window over 16×16 \(pads 0,0,0,0\) has no output/],
    ['a pool without its geometry', () => edit((p) => (p.steps.find((s) => s.kind === 'maxPool')!.params.pool = {})), /params\.pool\.inShape: expected an array/],
    ['a convolution of another group count', () => edit((p) => ((p.setup[0].map as { conv: { group: number } }).conv.group = 2)), /setup\[0\]\.map\.conv\.group: group 2 does not fit 3 input channels/],
    ['a value produced twice', () => edit((p) => (p.steps[2].outputs = [...p.steps[1].outputs])), /steps\[2\]\.outputs\[0\]: value '.*' is produced twice/],
  ];
  for (const [what, make, message] of cases) {
    it(`refuses ${what}: MPCC5222 naming the file and the field`, async () => {
      const edited = make();
      const folder = tampered(edited);
      const got = await codeOf(loadPartyArtifacts(folder, 0));
      expect(got).to.match(/^MPCC5222: program .*party0\/program\.json refused: /);
      expect(got).to.contain(join(folder, 'program.json'));
      expect(got).to.match(message);
    });
  }

  it('refuses before anything runs: no connection is ever attempted', async () => {
    const folder = tampered(edit((p) => (p.steps[1].kind = 'shell')));
    const peers = await freeLocalAddresses();
    // Parties 1 and 2 listen; neither must see a connection.
    let connections = 0;
    const servers: Server[] = await Promise.all(
      [1, 2].map(
        (i) =>
          new Promise<Server>((resolve) => {
            const s = createServer((c) => {
              connections++;
              c.destroy();
            });
            const [host, port] = peers[i].split(':');
            s.listen(Number(port), host, () => resolve(s));
          }),
      ),
    );
    try {
      const t0 = performance.now();
      const got = await codeOf(runParty(folder, { id: '0', peers: peers.join(','), input: join(tmp(), 'missing.npy'), connectTimeout: '5000' }));
      // The program is refused before the input is even read (the input file does not exist).
      expect(got).to.match(/^MPCC5222: /);
      expect(performance.now() - t0).to.be.lessThan(3000);
      expect(connections).to.equal(0);
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('nothing under OUT is imported or evaluated: no dynamic import, eval or Function in the runtime or the commands', () => {
    const offenders: string[] = [];
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(ROOT, rel))) {
        const path = `${rel}/${name}`;
        if (statSync(join(ROOT, path)).isDirectory()) walk(path);
        else if (name.endsWith('.ts') || name.endsWith('.js')) {
          readFileSync(join(ROOT, path), 'utf8')
            .split('\n')
            .forEach((line, i) => {
              const code = line.replace(/\/\/.*$/, '');
              if (/\bimport\s*\(|\beval\s*\(|\bnew\s+Function\s*\(|(^|[^\w.])Function\s*\(|node:vm|\brequire\s*\(/.test(code)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    for (const dir of ['runtime', 'compiler/commands', 'bin']) walk(dir);
    // The two dynamic imports: bin/mpcc.js loads mpcc's own compiled CLI (dist/, beside it),
    // and a worker thread loads the module its in-process caller names (runInWorkers, tests
    // and benchmarks); neither takes a path from an artifact folder.
    const allowed = offenders.filter((o) => (o.startsWith('runtime/transport/worker-party.ts:') && o.includes('import(data.module)')) || (o.startsWith('bin/mpcc.js:') && o.includes('import(pathToFileURL(cli).href)')));
    expect(offenders.filter((o) => !allowed.includes(o))).to.deep.equal([]);
    expect(allowed.length).to.equal(2);
    // The loader reads program.json as text and parses it as JSON.
    const loader = readFileSync(join(ROOT, 'runtime/program/artifacts.ts'), 'utf8');
    expect(loader).to.contain("parseProgram(bytes.get('program.json')!.toString('utf8')");
    expect(loader).to.not.match(/pathToFileURL/);
  });
});

describe('runtime: program.json with a shared activation mask', () => {
  /** The residual block of residual.ts with convS sharing convA's mask of x (both read x). */
  const shared = (f: (p: Program) => void = () => undefined): string => {
    const p = JSON.parse(JSON.stringify(residualProgram(0))) as Program; // its maps are shared constants
    const convA = p.steps.find((s) => s.name === 'convA')!;
    convA.outputs.push('x/masked');
    convA.params.keepMasked = true;
    Object.assign(p.steps.find((s) => s.name === 'convS')!, { kind: 'weightsSharedMask', inputs: ['x/masked'], params: { layer: 'S', maskFrom: 'convA' } });
    f(p);
    return JSON.stringify(p);
  };
  const refusal = (text: string) => {
    try {
      parseProgram(text, 'p.json', 0);
      return 'accepted';
    } catch (e) {
      return `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
  };
  const step = (p: Program, name: string) => p.steps.find((s) => s.name === name)!;

  it('accepts a product reading the masked activation an earlier product kept', () => {
    expect(refusal(shared())).to.equal('accepted');
  });

  const cases: [string, (p: Program) => void, RegExp][] = [
    ['an operand no product kept', (p) => (step(p, 'convS').inputs = ['x']), /steps\[2\]\.inputs\[0\]: value 'x' is no masked activation a product step kept/],
    ['a maskFrom naming another step', (p) => (step(p, 'convS').params.maskFrom = 'convB'), /steps\[2\]\.params\.maskFrom: 'convB', the operand 'x\/masked' was kept by step 'convA'/],
    ['a layer reading another size', (p) => ((p.setup[1].map as unknown as { conv: { inShape: number[] } }).conv.inShape = [1, 2, 6, 3]), /steps\[2\]\.params\.layer: layer 'S' reads 36 elements, the shared mask has 72/],
    ['another kind reading the masked activation', (p) => (step(p, 'truncS').inputs = ['x/masked']), /steps\[4\]\.inputs\[0\]: value 'x\/masked' is a masked activation: only a 'weightsSharedMask' step reads it/],
    ['keepMasked without its result', (p) => step(p, 'convA').outputs.pop(), /steps\[1\]\.outputs: 1 results for a 'weights' step \(2\)/],
  ];
  for (const [what, f, message] of cases) {
    it(`refuses ${what}: MPCC5222 naming the field`, () => {
      const got = refusal(shared(f));
      expect(got).to.match(/^MPCC5222: program p\.json refused: /);
      expect(got).to.match(message);
    });
  }
});
