import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { GraphBuilder, makeGraph, tensorOf } from '../../ir/index.js';
import { errorOf } from './util.js';
import { definePass, formatReports, formatStep, parsePipeline, registeredNames, runPipeline } from '../../passes/index.js';


function tinyGraph() {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', { dtype: 'float32', shape: [1, 2] });
  const y = b.op('Identity', [x], {}, 'id0');
  const z = b.op('Relu', [y], {}, 'relu0');
  b.output(b.op('Add', [z, b.constant('k', tensorOf('float32', [1], [1]))], {}, 'add0'));
  return b.build();
}

describe('pass pipelines', () => {
  it('expands named pipelines in place and keeps the order', () => {
    const steps = parsePipeline('canonicalize,relu6-to-relu,maxpool-to-avgpool');
    expect(steps.map((s) => s.pass.name)).to.deep.equal(['drop-identity', 'fold-constants', 'fold-batchnorm', 'remove-dead-nodes', 'relu6-to-relu', 'maxpool-to-avgpool']);
    expect(steps.map((s) => s.via)).to.deep.equal(['canonicalize', 'canonicalize', 'canonicalize', 'canonicalize', undefined, undefined]);
  });

  it('reads options with defaults, spacing, digit separators and quoted values', () => {
    expect(parsePipeline('fold-constants')[0].options).to.deep.equal({ 'max-size': 16_777_216 });
    expect(parsePipeline('fold-constants{max-size=1000000}')[0].options).to.deep.equal({ 'max-size': 1_000_000 });
    expect(parsePipeline(' fold-constants { max-size = 1_000 } , drop-identity ')[0].options).to.deep.equal({ 'max-size': 1000 });
    expect(parsePipeline('maxpool-to-avgpool{count-include-pad}')[0].options).to.deep.equal({ 'count-include-pad': true });
    expect(parsePipeline('relu6-to-relu{max="6.5"}')[0].options).to.deep.equal({ max: 6.5 });
    expect(parsePipeline('')).to.deep.equal([]);
    expect(parsePipeline('  ')).to.deep.equal([]);
  });

  it('spells steps back with only the non-default options', () => {
    expect(parsePipeline('fold-constants{max-size=10},relu6-to-relu{max=6}').map(formatStep)).to.deep.equal(['fold-constants{max-size=10}', 'relu6-to-relu']);
  });

  it('rejects an unknown pass with MPCC4001 naming the known ones', () => {
    const err = errorOf(() => parsePipeline('canonicalize,fold-everything'));
    expect(err.code).to.equal('MPCC4001');
    expect(err.message).to.equal(`unknown pass 'fold-everything' (known: ${registeredNames().join(', ')})`);
    expect(registeredNames()).to.include.members(['canonicalize', 'fold-batchnorm', 'maxpool-to-avgpool']);
  });

  it('rejects an unknown option with MPCC4002', () => {
    const err = errorOf(() => parsePipeline('fold-constants{size=3}'));
    expect(err.code).to.equal('MPCC4002');
    expect(err.message).to.equal("pass 'fold-constants': unknown option 'size' (known: max-size)");
    expect(errorOf(() => parsePipeline('drop-identity{x=1}')).message).to.equal("pass 'drop-identity': unknown option 'x' (known: (none))");
    expect(errorOf(() => parsePipeline('canonicalize{x=1}')).code).to.equal('MPCC4002');
  });

  it('rejects a bad option value with MPCC4003', () => {
    const cases: [string, string][] = [
      ['fold-constants{max-size=big}', "pass 'fold-constants': invalid option max-size=big: expected an integer"],
      ['fold-constants{max-size=1.5}', "pass 'fold-constants': invalid option max-size=1.5: expected an integer"],
      ['fold-constants{max-size=-1}', "pass 'fold-constants': invalid option max-size=-1: must be ≥ 0"],
      ['maxpool-to-avgpool{count-include-pad=yes}', "pass 'maxpool-to-avgpool': invalid option count-include-pad=yes: expected true or false"],
      ['relu6-to-relu{max=0}', "pass 'relu6-to-relu': invalid option max=0: must be > 0"],
      ['fold-constants{max-size=1,max-size=2}', "pass 'fold-constants': invalid option max-size=2: the option is given twice"],
    ];
    for (const [text, message] of cases) {
      const err = errorOf(() => parsePipeline(text));
      expect(err.code, text).to.equal('MPCC4003');
      expect(err.message).to.equal(message);
    }
  });

  it('rejects bad syntax with MPCC4004 and the column', () => {
    const cases: [string, string][] = [
      ['fold-constants{max-size=1', "expected ',' or '}' at column 26, found the end"],
      ['drop-identity,,fold-constants', "expected a pass name at column 15, found ','"],
      ['drop-identity,', 'expected a pass name at column 15, found the end'],
      ['drop-identity fold-constants', "expected ',' or the end of the pipeline at column 15, found 'f'"],
      ['fold-constants{=3}', "expected an option name at column 16, found '='"],
      ['fold-constants{max-size=}', "expected an option value at column 25, found '}'"],
      ['relu6-to-relu{max="6}', `expected a closing '"' at column 19, found '"'`],
    ];
    for (const [text, detail] of cases) {
      const err = errorOf(() => parsePipeline(text));
      expect(err.code, text).to.equal('MPCC4004');
      expect(err.message).to.equal(`invalid pass pipeline '${text}': ${detail}`);
    }
  });
});

describe('pass manager', () => {
  it('runs passes in order, reports statistics and prints after each pass', () => {
    const g = tinyGraph();
    const headers: string[] = [];
    const { graph, reports } = runPipeline(g, 'canonicalize', { printAfter: (header, after) => headers.push(`${header} ${after.nodes.length}`) });
    expect(graph.nodes.map((n) => n.op)).to.deep.equal(['Relu', 'Add']);
    expect(headers).to.deep.equal([
      '// ----- IR after drop-identity (canonicalize) ----- 2',
      '// ----- IR after fold-constants (canonicalize) ----- 2',
      '// ----- IR after fold-batchnorm (canonicalize) ----- 2',
      '// ----- IR after remove-dead-nodes (canonicalize) ----- 2',
    ]);
    expect(reports.map((r) => r.changed)).to.deep.equal([true, false, false, false]);
    expect([...reports[0].stats]).to.deep.equal([['identities dropped', 1]]);
    const table = formatReports(reports);
    expect(table).to.match(/^drop-identity\s+\d+\.\d ms {2}identities dropped: 1$/m);
    expect(table).to.match(/^fold-constants\s+\d+\.\d ms {2}no change$/m);
    expect(table).to.match(/^total\s+\d+\.\d ms$/m);
  });

  it('returns the same graph object when no pass changes anything', () => {
    const g = runPipeline(tinyGraph(), 'drop-identity').graph;
    expect(runPipeline(g, 'canonicalize').graph).to.equal(g);
  });

  it('verifies after each pass (MPCC4005 names the pass) unless told not to', () => {
    const breaksTheIR = definePass({
      name: 'break-the-ir',
      summary: 'Test pass that moves the last node first, so a value is used before its definition.',
      options: {},
      run: (graph) => makeGraph({ ...graph, nodes: [graph.nodes[graph.nodes.length - 1], ...graph.nodes.slice(0, -1)] }),
    });
    const steps = [{ pass: breaksTheIR, options: {} }];
    const err = errorOf(() => runPipeline(tinyGraph(), steps));
    expect(err.code).to.equal('MPCC4005');
    expect(err.message).to.match(/^the IR is invalid after pass 'break-the-ir': IR verification failed at node 'add0' \(Add\): operand 'relu0_out' is used before it is defined$/);
    expect(runPipeline(tinyGraph(), steps, { verify: false }).graph.nodes[0].name).to.equal('add0');
  });

  it('knows the built-in passes when only the pipeline module is imported', () => {
    // a fresh process, so that no other test module has registered them already
    const pipeline = new URL('../../passes/pipeline.js', import.meta.url).href;
    const script = `const p = await import(${JSON.stringify(pipeline)}); process.stdout.write(String(p.parsePipeline('canonicalize').length));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(res.stderr).to.equal('');
    expect(res.stdout).to.equal('4');
  });

  it('rejects non-kebab-case pass names', () => {
    expect(() => definePass({ name: 'FoldAll', summary: 'x', options: {}, run: (g) => g })).to.throw(/kebab-case/);
  });
});

describe('mpcc passes', () => {
  it('lists every pass with its options and the named pipelines', async () => {
    const { passListing } = await import('../../compiler/commands/passes.js');
    const text = passListing();
    for (const name of registeredNames()) expect(text).to.match(new RegExp(`^  ${name}\\b`, 'm'));
    expect(text).to.include('{max-size=<int>}');
    expect(text).to.include('canonicalize = drop-identity,fold-constants,fold-batchnorm,remove-dead-nodes');
  });
});
