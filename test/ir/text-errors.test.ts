// Golden tests of .mir errors: the exact message, the source line and the caret under the column.
import { expect } from 'chai';
import { MpccError } from '../../ir/index.js';
import { parseMir } from '../../ir/parse.js';

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
      "error MPCC2001: net.mir:4:26: expected an op name but found '='",
      '    %c: float32[1,2,4,4] = = Conv "conv"(%x, %w, none) {group = 2}',
      '                           ^'));
    expect(errorOf(edit('group = 2', 'group = 2 ?'))).to.equal(golden(
      'error MPCC2001: net.mir:4:63: unexpected character "?"',
      '    %c: float32[1,2,4,4] = Conv "conv"(%x, %w, none) {group = 2 ?}',
      '                                                                ^'));
    expect(errorOf(BASE.slice(0, BASE.lastIndexOf('}')))).to.equal(golden(
      "error MPCC2001: net.mir:5:41: expected a statement or '}' but found end of input",
      '    %y: float32[1,2,4,4] = Relu "relu"(%c)',
      '                                          ^'));
  });

  it('bad type syntax', () => {
    expect(errorOf(edit('const %w: float32[2,1,1,1]', 'const %w: float32[2,1,1,1'))).to.equal(golden(
      "error MPCC2001: net.mir:3:29: expected ']' but found '='",
      '    const %w: float32[2,1,1,1 = [0.5, -2]',
      '                              ^'));
    expect(errorOf(edit('const %w: float32', 'const %w: float33'))).to.equal(golden(
      "error MPCC2005: net.mir:3:13: unknown element type 'float33' (known: float32, float64, int64, int32, bool)",
      '    const %w: float33[2,1,1,1] = [0.5, -2]',
      '              ^'));
    expect(errorOf(edit('-> (%y: float32[1,2,4,4])', '-> (%y: [1,2,4,4])'))).to.equal(golden(
      "error MPCC2001: net.mir:2:42: expected an element type (float32, int64, …) but found '['",
      '  graph @net(%x: float32[1,2,4,4]) -> (%y: [1,2,4,4]) {',
      '                                           ^'));
  });

  it('unterminated string and bad escape', () => {
    expect(errorOf(edit('"relu"', '"relu'))).to.equal(golden(
      'error MPCC2001: net.mir:5:31: unterminated string',
      '    %y: float32[1,2,4,4] = Relu "relu(%c)',
      '                                ^'));
    expect(errorOf(edit('"relu"', '"re\\qlu"'))).to.equal(golden(
      'error MPCC2001: net.mir:5:31: invalid escape sequence in string',
      '    %y: float32[1,2,4,4] = Relu "re\\qlu"(%c)',
      '                                ^'));
  });

  it('unknown op, with a suggestion', () => {
    expect(errorOf(edit('Relu "relu"', 'Relux "relu"'))).to.equal(golden(
      "error MPCC2005: net.mir:5:26: unknown op 'Relux' (did you mean 'Relu'?)",
      '    %y: float32[1,2,4,4] = Relux "relu"(%c)',
      '                           ^'));
  });

  it('undefined, used-before-definition and redefined values', () => {
    expect(errorOf(edit('(%c)', '(%d)'))).to.equal(golden(
      'error MPCC2005: net.mir:5:38: value %d is not defined',
      '    %y: float32[1,2,4,4] = Relu "relu"(%d)',
      '                                       ^'));
    expect(errorOf(edit('(%x, %w', '(%y, %w'))).to.equal(golden(
      'error MPCC2005: net.mir:4:38: value %y is used before its definition at line 5',
      '    %c: float32[1,2,4,4] = Conv "conv"(%y, %w, none) {group = 2}',
      '                                       ^'));
    expect(errorOf(edit('%y: float32[1,2,4,4] = Relu', '%c: float32[1,2,4,4] = Relu'))).to.equal(golden(
      'error MPCC2005: net.mir:5:3: value %c is already defined at line 4',
      '    %c: float32[1,2,4,4] = Relu "relu"(%c)',
      '    ^'));
    expect(errorOf(edit('-> (%y: float32[1,2,4,4])', '-> (%y: float32[1,2,4,4], %z: float32[1])'))).to.equal(golden(
      'error MPCC2005: net.mir:2:60: graph output %z is not defined',
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
      'error MPCC2005: net.mir:2:42: graph output %y is declared float64[1,2,4,4] but defined as float32[1,2,4,4] at line 5',
      '  graph @net(%x: float32[1,2,4,4]) -> (%y: float64[1,2,4,4]) {',
      '                                           ^'));
  });

  it('bad literals and version', () => {
    expect(errorOf(edit('[0.5, -2]', '[0.5]'))).to.equal(golden(
      'error MPCC2005: net.mir:3:32: float32[2,1,1,1] needs 2 elements, found 1',
      '    const %w: float32[2,1,1,1] = [0.5]',
      '                                 ^'));
    expect(errorOf(edit('mir 1', 'mir 2'))).to.equal(golden(
      'error MPCC2005: net.mir:1:5: unsupported mir version 2 (this mpcc reads version 1)',
      '  mir 2',
      '      ^'));
  });

  it('keeps tabs in the caret line so the caret lines up', () => {
    expect(errorOf(edit('  %y: float32[1,2,4,4] = Relu "relu"(%c)', '\t%y: float32[1,2,4,4] = Relu "relu"(%q)'))).to.equal(golden(
      'error MPCC2005: net.mir:5:37: value %q is not defined',
      '  \t%y: float32[1,2,4,4] = Relu "relu"(%q)',
      '  \t                                   ^'));
  });
});
