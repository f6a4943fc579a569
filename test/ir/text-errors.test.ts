// Golden tests of .mir errors: the exact message, the source line and the caret under the column.
import { expect } from 'chai';
import { MpccError } from '../../ir/index.js';
import { parseMir } from '../../ir/parse.js';
import { printGraphWithWeights } from '../../ir/print.js';
import { Rng, randomGraph } from './random-graph.js';

const BASE = `mir 1
graph @net(%x: float32[1,2,4,4]) -> (%y: float32[1,2,4,4]) {
  const %w: float32[2,1,1,1] = [0.5, -2]
  %c: float32[1,2,4,4] = Conv "conv"(%x, %w, none) {group = 2}
  %y: float32[1,2,4,4] = Relu "relu"(%c)
}
`;

/** The error text the CLI would print for `text`, or 'ok'. */
function errorOf(text: string): string {
  try {
    parseMir(text, { file: 'net.mir' });
    return 'ok';
  } catch (err) {
    if (!(err instanceof MpccError)) throw err;
    return err.format();
  }
}

/** BASE with `from` replaced by `to` (which must occur). */
function edit(from: string, to: string): string {
  expect(BASE).to.contain(from);
  return BASE.replace(from, to);
}

const golden = (...lines: string[]) => lines.join('\n');

describe('textual IR errors (golden)', () => {
  it('parses the base text', () => {
    expect(errorOf(BASE)).to.equal('ok');
  });

  it('unexpected token', () => {
    expect(errorOf(edit('= Conv', '= = Conv'))).to.equal(golden(
      "error MPCC2001: net.mir:4:26: syntax error: expected an op name but found '='",
      '    %c: float32[1,2,4,4] = = Conv "conv"(%x, %w, none) {group = 2}',
      '                           ^'));
    expect(errorOf(edit('group = 2', 'group = 2 ?'))).to.equal(golden(
      'error MPCC2001: net.mir:4:63: syntax error: unexpected character "?"',
      '    %c: float32[1,2,4,4] = Conv "conv"(%x, %w, none) {group = 2 ?}',
      '                                                                ^'));
    expect(errorOf(BASE.slice(0, BASE.lastIndexOf('}')))).to.equal(golden(
      "error MPCC2001: net.mir:5:41: syntax error: expected a statement or '}' but found end of input",
      '    %y: float32[1,2,4,4] = Relu "relu"(%c)',
      '                                          ^'));
  });

  it('bad type syntax', () => {
    expect(errorOf(edit('const %w: float32[2,1,1,1]', 'const %w: float32[2,1,1,1'))).to.equal(golden(
      "error MPCC2001: net.mir:3:29: syntax error: expected ']' but found '='",
      '    const %w: float32[2,1,1,1 = [0.5, -2]',
      '                              ^'));
    expect(errorOf(edit('const %w: float32', 'const %w: float33'))).to.equal(golden(
      "error MPCC2005: net.mir:3:13: semantic error: unknown element type 'float33' (known: float32, float64, int64, int32, bool)",
      '    const %w: float33[2,1,1,1] = [0.5, -2]',
      '              ^'));
    expect(errorOf(edit('-> (%y: float32[1,2,4,4])', '-> (%y: [1,2,4,4])'))).to.equal(golden(
      "error MPCC2001: net.mir:2:42: syntax error: expected an element type (float32, int64, …) but found '['",
      '  graph @net(%x: float32[1,2,4,4]) -> (%y: [1,2,4,4]) {',
      '                                           ^'));
  });

  it('unterminated string and bad escape', () => {
    expect(errorOf(edit('"relu"', '"relu'))).to.equal(golden(
      'error MPCC2001: net.mir:5:31: syntax error: unterminated string',
      '    %y: float32[1,2,4,4] = Relu "relu(%c)',
      '                                ^'));
    expect(errorOf(edit('"relu"', '"re\\qlu"'))).to.equal(golden(
      'error MPCC2001: net.mir:5:31: syntax error: invalid escape sequence in string',
      '    %y: float32[1,2,4,4] = Relu "re\\qlu"(%c)',
      '                                ^'));
  });

  it('unknown op, with a suggestion', () => {
    expect(errorOf(edit('Relu "relu"', 'Relux "relu"'))).to.equal(golden(
      "error MPCC2005: net.mir:5:26: semantic error: unknown op 'Relux' (did you mean 'Relu'?)",
      '    %y: float32[1,2,4,4] = Relux "relu"(%c)',
      '                           ^'));
  });

  it('undefined, used-before-definition and redefined values', () => {
    expect(errorOf(edit('(%c)', '(%d)'))).to.equal(golden(
      'error MPCC2005: net.mir:5:38: semantic error: value %d is not defined',
      '    %y: float32[1,2,4,4] = Relu "relu"(%d)',
      '                                       ^'));
    expect(errorOf(edit('(%x, %w', '(%y, %w'))).to.equal(golden(
      'error MPCC2005: net.mir:4:38: semantic error: value %y is used before its definition at line 5',
      '    %c: float32[1,2,4,4] = Conv "conv"(%y, %w, none) {group = 2}',
      '                                       ^'));
    expect(errorOf(edit('%y: float32[1,2,4,4] = Relu', '%c: float32[1,2,4,4] = Relu'))).to.equal(golden(
      'error MPCC2005: net.mir:5:3: semantic error: value %c is already defined at line 4',
      '    %c: float32[1,2,4,4] = Relu "relu"(%c)',
      '    ^'));
    expect(errorOf(edit('-> (%y: float32[1,2,4,4])', '-> (%y: float32[1,2,4,4], %z: float32[1])'))).to.equal(golden(
      'error MPCC2005: net.mir:2:60: semantic error: graph output %z is not defined',
      '  graph @net(%x: float32[1,2,4,4]) -> (%y: float32[1,2,4,4], %z: float32[1]) {',
      '                                                             ^'));
  });

  it('type mismatches found by the verifier, located at the node', () => {
    expect(errorOf(edit('%c: float32[1,2,4,4] = Conv', '%c: float32[1,2,4,5] = Conv'))).to.equal(golden(
      "error MPCC2002: net.mir:4:7: IR verification failed at node 'conv' (Conv): result 'c' is typed float32[1,2,4,5] but the op gives float32[1,2,4,4]",
      '    %c: float32[1,2,4,5] = Conv "conv"(%x, %w, none) {group = 2}',
      '        ^'));
    expect(errorOf(edit('group = 2', 'group = 3'))).to.equal(golden(
      "error MPCC2002: net.mir:4:3: IR verification failed at node 'conv' (Conv): input has 2 channels but weights expect 1×group 3",
      '    %c: float32[1,2,4,4] = Conv "conv"(%x, %w, none) {group = 2}'.replace('2}', '3}'),
      '    ^'));
    expect(errorOf(edit('-> (%y: float32[1,2,4,4])', '-> (%y: float64[1,2,4,4])'))).to.equal(golden(
      'error MPCC2005: net.mir:2:42: semantic error: graph output %y is declared float64[1,2,4,4] but defined as float32[1,2,4,4] at line 5',
      '  graph @net(%x: float32[1,2,4,4]) -> (%y: float64[1,2,4,4]) {',
      '                                           ^'));
  });

  it('bad literals and version', () => {
    expect(errorOf(edit('[0.5, -2]', '[0.5]'))).to.equal(golden(
      'error MPCC2005: net.mir:3:32: semantic error: float32[2,1,1,1] needs 2 elements, found 1',
      '    const %w: float32[2,1,1,1] = [0.5]',
      '                                 ^'));
    expect(errorOf(edit('mir 1', 'mir 2'))).to.equal(golden(
      'error MPCC2005: net.mir:1:5: semantic error: unsupported mir version 2 (this mpcc reads version 1)',
      '  mir 2',
      '      ^'));
  });

  it('keeps tabs in the caret line so the caret lines up', () => {
    expect(errorOf(edit('  %y: float32[1,2,4,4] = Relu "relu"(%c)', '\t%y: float32[1,2,4,4] = Relu "relu"(%q)'))).to.equal(golden(
      'error MPCC2005: net.mir:5:37: semantic error: value %q is not defined',
      '  \t%y: float32[1,2,4,4] = Relu "relu"(%q)',
      '  \t                                   ^'));
  });
});

describe('textual IR errors on mutated text (fuzz)', () => {
  it('every failure is an MpccError with file:line:col, never a crash', () => {
    const rng = new Rng(99);
    const pieces = ['%', '"', '\\', '[', ']', '{', '}', '(', ')', ',', ':', '=', '-', '>', '/', '\n', ' ', 'a', '1', '.', 'e', 'f', '@', 'none', 'inf', 'weights[0]', 'weights[99]', 'ü', '\t', 'const '];
    const seen = new Set<string>();
    const printed = Array.from({ length: 40 }, (_, i) => printGraphWithWeights(randomGraph(i + 1)));
    for (let i = 0; i < 600; i++) {
      const { text, weights } = printed[i % printed.length];
      let t = text;
      for (let k = rng.int(1, 3); k > 0; k--) {
        const pos = rng.int(0, t.length);
        const lines = t.split('\n');
        const a = rng.int(0, lines.length - 1), b = rng.int(0, lines.length - 1);
        switch (rng.int(0, 3)) {
          case 0: t = t.slice(0, pos) + t.slice(pos + rng.int(1, 5)); break;
          case 1: t = t.slice(0, pos) + rng.pick(pieces) + t.slice(pos); break;
          case 2: [lines[a], lines[b]] = [lines[b], lines[a]]; t = lines.join('\n'); break;
          default: lines.splice(a, 0, lines[b]); t = lines.join('\n');
        }
      }
      try {
        parseMir(t, { file: 'f.mir', weights });
        seen.add('ok');
      } catch (err) {
        if (!(err instanceof MpccError)) throw new Error(`crash on mutated text: ${(err as Error).stack}\n${t}`);
        expect(err.location, err.format()).to.match(/^f\.mir:\d+:\d+$/);
        expect(err.message.split('\n')).to.have.length(3);
        seen.add(err.code);
      }
    }
    expect([...seen].sort()).to.include.members(['MPCC2001', 'MPCC2002', 'MPCC2005', 'ok']);
  });
});
