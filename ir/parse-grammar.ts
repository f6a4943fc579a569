// The syntax of the textual IR (.mir): a chevrotain lexer and parser that turn text into a
// located syntax tree (no meaning checked yet; ir/parse.ts builds the graph). This file and
// ir/parse.ts are the only ones that see chevrotain. The first syntax error is reported as
// MPCC2001 with `file:line:col`, the source line and a caret.
//
//   file      := 'mir' NUMBER ('weights' STRING)? 'graph' GRAPHNAME params '->' params body
//   params    := '(' (typed (',' typed)*)? ')'          typed := VALUE ':' type
//   type      := IDENT '[' (NUMBER (',' NUMBER)*)? ']'  e.g. float32[1,3,32,32], int64[]
//   body      := '{' (const | node)* '}'
//   const     := 'const' typed '=' init                init := list | 'weights' '[' NUMBER ']'
//   node      := (typed (',' typed)* '=')? (IDENT | STRING) STRING '(' operands ')' attrs?
//   operands  := ((VALUE | 'none') (',' (VALUE | 'none'))*)?
//   attrs     := '{' ((IDENT | STRING) '=' value (',' …)*)? '}'
//   value     := number | STRING | '[' (value (',' value)*)? ']' | type init
//   number    := NUMBER | 'inf' | '-' 'inf' | 'nan'      NUMBER may end in f (a float32 value)
//   VALUE     := '%' bare | '%' STRING                   GRAPHNAME := '@' bare | '@' STRING
//   bare      := ([A-Za-z0-9_.$-] | '/' not followed by '/')+;  comments: '//' to end of line
import { EmbeddedActionsParser, EOF, type IParserErrorMessageProvider, type IToken, Lexer, type TokenType, createToken } from 'chevrotain';
import { type SourceLoc, locatedError, parseNumber } from './text-syntax.js';
import { diag } from '../runtime/diagnostics.js';

/** A name, string or number as written, with where it starts. */
export interface Located<T> {
  readonly value: T;
  readonly loc: SourceLoc;
}

/** `float32[1,3,32,32]` as written. */
export interface TypeSyntax {
  readonly dtype: Located<string>;
  readonly dims: readonly Located<number>[];
}

/** `%name: type` (graph parameters, results). */
export interface TypedName {
  readonly name: Located<string>;
  readonly type: TypeSyntax;
}

/** The contents of a tensor: a literal list of numbers or a weights-file reference. */
export type TensorInit =
  | { readonly kind: 'list'; readonly items: readonly Located<number>[]; readonly loc: SourceLoc }
  | { readonly kind: 'weights'; readonly index: Located<number>; readonly loc: SourceLoc };

/** An attribute value as written. */
export type AttrSyntax =
  | { readonly kind: 'number'; readonly value: number; readonly loc: SourceLoc }
  | { readonly kind: 'string'; readonly value: string; readonly loc: SourceLoc }
  | { readonly kind: 'list'; readonly items: readonly AttrSyntax[]; readonly loc: SourceLoc }
  | { readonly kind: 'tensor'; readonly type: TypeSyntax; readonly init: TensorInit; readonly loc: SourceLoc };

/** `const %name: type = init`. */
export interface ConstSyntax {
  readonly kind: 'const';
  readonly name: Located<string>;
  readonly type: TypeSyntax;
  readonly init: TensorInit;
}

/** `%r: type, … = Op "name"(%a, none, …) {key = value, …}`. */
export interface NodeSyntax {
  readonly kind: 'node';
  readonly results: readonly TypedName[];
  readonly op: Located<string>;
  readonly name: Located<string>;
  /** null marks an omitted optional operand (`none`). */
  readonly operands: readonly (Located<string> | null)[];
  readonly attrs: readonly { readonly key: Located<string>; readonly value: AttrSyntax }[];
  readonly loc: SourceLoc;
}

/** A whole .mir file as written. */
export interface MirSyntax {
  readonly version: Located<number>;
  readonly weightsRef?: Located<string>;
  readonly name: Located<string>;
  readonly inputs: readonly TypedName[];
  readonly outputs: readonly TypedName[];
  readonly body: readonly (ConstSyntax | NodeSyntax)[];
}

// Tokens. Order matters: the first pattern that matches wins, so quoted forms come before the
// catch-all for broken strings, and keywords fall back to identifiers (longer_alt).
const STRING_BODY = String.raw`"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"`;
const BARE_BODY = String.raw`(?:[A-Za-z0-9_.$-]|\/(?!\/))+`;
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED, line_breaks: true });
const Comment = createToken({ name: 'Comment', pattern: /\/\/[^\n\r]*/, group: Lexer.SKIPPED });
const QuotedValue = createToken({ name: 'QuotedValue', label: 'a value name', pattern: new RegExp('%' + STRING_BODY), start_chars_hint: ['%'] });
const BareValue = createToken({ name: 'BareValue', label: 'a value name', pattern: new RegExp('%' + BARE_BODY), start_chars_hint: ['%'] });
const QuotedGraph = createToken({ name: 'QuotedGraph', label: 'a graph name', pattern: new RegExp('@' + STRING_BODY), start_chars_hint: ['@'] });
const BareGraph = createToken({ name: 'BareGraph', label: 'a graph name', pattern: new RegExp('@' + BARE_BODY), start_chars_hint: ['@'] });
const StringLit = createToken({ name: 'StringLit', label: 'a string', pattern: new RegExp(STRING_BODY) });
/** What is left of a string that did not match: unterminated, or with a bad escape. */
const BadString = createToken({ name: 'BadString', label: 'a string', pattern: /[%@]?"(?:[^"\\\n\r]|\\.)*"?/, start_chars_hint: ['%', '@', '"'] });
const Arrow = createToken({ name: 'Arrow', label: "'->'", pattern: /->/ });
const NumberLit = createToken({ name: 'NumberLit', label: 'a number', pattern: /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?f?/ });
const Minus = createToken({ name: 'Minus', label: "'-'", pattern: /-/ });
const Ident = createToken({ name: 'Ident', label: 'an identifier', pattern: /[A-Za-z_][A-Za-z0-9_.]*/ });
const keyword = (word: string) => createToken({ name: `Kw_${word}`, label: `'${word}'`, pattern: new RegExp(word), longer_alt: Ident });
const Mir = keyword('mir');
const GraphKw = keyword('graph');
const Const = keyword('const');
const Weights = keyword('weights');
const None = keyword('none');
const Inf = keyword('inf');
const NaNKw = keyword('nan');
const punct = (name: string, text: string) => createToken({ name, label: `'${text}'`, pattern: new RegExp(text.replace(/[()[\]{}]/g, '\\$&')) });
const LParen = punct('LParen', '(');
const RParen = punct('RParen', ')');
const LBrace = punct('LBrace', '{');
const RBrace = punct('RBrace', '}');
const LBracket = punct('LBracket', '[');
const RBracket = punct('RBracket', ']');
const Comma = punct('Comma', ',');
const Colon = punct('Colon', ':');
const Equals = punct('Equals', '=');

const ALL_TOKENS: TokenType[] = [
  WhiteSpace, Comment, QuotedValue, BareValue, QuotedGraph, BareGraph, StringLit, BadString,
  Arrow, NumberLit, Minus, Mir, GraphKw, Const, Weights, None, Inf, NaNKw, Ident,
  LParen, RParen, LBrace, RBrace, LBracket, RBracket, Comma, Colon, Equals,
];

const mirLexer = new Lexer(ALL_TOKENS, { positionTracking: 'onlyStart', ensureOptimizations: true });

function describe(tok: IToken): string {
  if (tok.tokenType === EOF) return 'end of input';
  return `'${tok.image.length > 40 ? tok.image.slice(0, 40) + '…' : tok.image}'`;
}

function alternatives(types: TokenType[]): string {
  const labels = [...new Set(types.map((t) => t.LABEL ?? t.name))];
  return labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

/** How to name what a rule expects where the token labels would be vague. */
const RULE_WORDS: Record<string, string> = {
  opName: 'an op name',
  attrKey: 'an attribute name',
  attrValue: 'an attribute value (number, string, list or tensor)',
  tensorInit: "a literal list or 'weights[i]'",
  number: 'a number',
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) =>
    ruleName === 'graphBody' && expected === RBrace ? `expected a statement or '}' but found ${describe(actual)}`
      : ruleName === 'nodeStmt' && expected === RBrace ? `expected an attribute name or '}' but found ${describe(actual)}`
      : ruleName === 'type' && expected === Ident ? `expected an element type (float32, int64, …) but found ${describe(actual)}`
      : `expected ${expected.LABEL ?? expected.name} but found ${describe(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected ${describe(firstRedundant)} after the end of the graph`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) =>
    `expected ${RULE_WORDS[ruleName] ?? alternatives(expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0])))} but found ${describe(actual[0])}`,
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${alternatives(expectedIterationPaths.map((p) => p[0]))} but found ${describe(actual[0])}`,
};

const at = (tok: IToken): SourceLoc => ({ line: tok.startLine ?? 1, col: tok.startColumn ?? 1 });

/** The name a `%…`/`@…` token spells (quotes and escapes removed). */
function nameOf(tok: IToken): Located<string> {
  const body = tok.image.slice(1);
  return { value: body.startsWith('"') ? (JSON.parse(body) as string) : body, loc: at(tok) };
}

function stringOf(tok: IToken): Located<string> {
  return { value: JSON.parse(tok.image) as string, loc: at(tok) };
}

class MirParser extends EmbeddedActionsParser {
  constructor() {
    super(ALL_TOKENS, { errorMessageProvider: messages, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  readonly file = this.RULE('file', (): MirSyntax => {
    this.CONSUME(Mir);
    const version = this.CONSUME(NumberLit);
    let weightsRef: Located<string> | undefined;
    this.OPTION(() => {
      this.CONSUME(Weights);
      const ref = this.CONSUME(StringLit);
      weightsRef = this.ACTION(() => stringOf(ref));
    });
    this.CONSUME(GraphKw);
    const gname = this.OR([{ ALT: () => this.CONSUME(BareGraph) }, { ALT: () => this.CONSUME(QuotedGraph) }]);
    const inputs = this.SUBRULE(this.typedList);
    this.CONSUME(Arrow);
    const outputs = this.SUBRULE2(this.typedList);
    const body = this.SUBRULE(this.graphBody);
    return this.ACTION(() => ({ version: { value: parseNumber(version.image), loc: at(version) }, weightsRef, name: nameOf(gname), inputs, outputs, body }));
  });

  private readonly typedList = this.RULE('typedList', (): TypedName[] => {
    const list: TypedName[] = [];
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => { list.push(this.SUBRULE(this.typedName)); } });
    this.CONSUME(RParen);
    return list;
  });

  private readonly graphBody = this.RULE('graphBody', (): (ConstSyntax | NodeSyntax)[] => {
    const body: (ConstSyntax | NodeSyntax)[] = [];
    this.CONSUME(LBrace);
    this.MANY(() => {
      body.push(this.OR([{ ALT: () => this.SUBRULE(this.constStmt) }, { ALT: () => this.SUBRULE(this.nodeStmt) }]));
    });
    this.CONSUME(RBrace);
    return body;
  });

  private readonly constStmt = this.RULE('constStmt', (): ConstSyntax => {
    this.CONSUME(Const);
    const typed = this.SUBRULE(this.typedName);
    this.CONSUME(Equals);
    const init = this.SUBRULE(this.tensorInit);
    return this.ACTION(() => ({ kind: 'const' as const, name: typed.name, type: typed.type, init }));
  });

  private readonly nodeStmt = this.RULE('nodeStmt', (): NodeSyntax => {
    const results: TypedName[] = [];
    this.OPTION(() => {
      this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => { results.push(this.SUBRULE(this.typedName)); } });
      this.CONSUME(Equals);
    });
    const op = this.SUBRULE(this.opName);
    const name = this.CONSUME(StringLit);
    const operands: (Located<string> | null)[] = [];
    this.CONSUME(LParen);
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        operands.push(this.OR2([
          { ALT: () => this.SUBRULE(this.valueName) },
          { ALT: () => { this.CONSUME(None); return null; } },
        ]));
      },
    });
    this.CONSUME(RParen);
    const attrs: { key: Located<string>; value: AttrSyntax }[] = [];
    this.OPTION2(() => {
      this.CONSUME(LBrace);
      this.MANY_SEP2({
        SEP: Comma,
        DEF: () => {
          const key = this.SUBRULE(this.attrKey);
          this.CONSUME2(Equals);
          const value = this.SUBRULE(this.attrValue);
          this.ACTION(() => attrs.push({ key: key.tokenType === Ident ? { value: key.image, loc: at(key) } : stringOf(key), value }));
        },
      });
      this.CONSUME(RBrace);
    });
    return this.ACTION(() => ({
      kind: 'node' as const,
      results,
      op: op.tokenType === Ident ? { value: op.image, loc: at(op) } : stringOf(op),
      name: stringOf(name),
      operands,
      attrs,
      loc: results.length ? results[0].name.loc : at(op),
    }));
  });

  private readonly opName = this.RULE('opName', (): IToken => this.OR([{ ALT: () => this.CONSUME(Ident) }, { ALT: () => this.CONSUME(StringLit) }]));

  private readonly attrKey = this.RULE('attrKey', (): IToken => this.OR([{ ALT: () => this.CONSUME(Ident) }, { ALT: () => this.CONSUME(StringLit) }]));

  private readonly attrValue = this.RULE('attrValue', (): AttrSyntax => {
    return this.OR([
      { ALT: () => { const n = this.SUBRULE(this.number); return this.ACTION(() => ({ kind: 'number' as const, value: n.value, loc: n.loc })); } },
      { ALT: () => { const s = this.CONSUME(StringLit); return this.ACTION(() => ({ kind: 'string' as const, ...stringOf(s) })); } },
      {
        ALT: () => {
          const open = this.CONSUME(LBracket);
          const items: AttrSyntax[] = [];
          this.MANY_SEP({ SEP: Comma, DEF: () => { items.push(this.SUBRULE(this.attrValue)); } });
          this.CONSUME(RBracket);
          return { kind: 'list' as const, items, loc: this.ACTION(() => at(open)) };
        },
      },
      {
        ALT: () => {
          const type = this.SUBRULE(this.type);
          const init = this.SUBRULE(this.tensorInit);
          return { kind: 'tensor' as const, type, init, loc: this.ACTION(() => type.dtype.loc) };
        },
      },
    ]);
  });

  private readonly tensorInit = this.RULE('tensorInit', (): TensorInit => {
    return this.OR([
      {
        ALT: () => {
          const open = this.CONSUME(LBracket);
          const items: Located<number>[] = [];
          this.MANY_SEP({ SEP: Comma, DEF: () => { items.push(this.SUBRULE(this.number)); } });
          this.CONSUME(RBracket);
          return { kind: 'list' as const, items, loc: this.ACTION(() => at(open)) };
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(Weights);
          this.CONSUME2(LBracket);
          const index = this.CONSUME(NumberLit);
          this.CONSUME2(RBracket);
          return this.ACTION(() => ({ kind: 'weights' as const, index: { value: parseNumber(index.image), loc: at(index) }, loc: at(kw) }));
        },
      },
    ]);
  });

  private readonly number = this.RULE('number', (): Located<number> => {
    const first = this.OR([
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(Inf) },
      { ALT: () => this.CONSUME(NaNKw) },
      { ALT: () => { const m = this.CONSUME(Minus); this.CONSUME2(Inf); return m; } },
    ]);
    return this.ACTION(() => ({ value: parseNumber(first.tokenType === Minus ? '-inf' : first.image), loc: at(first) }));
  });

  private readonly typedName = this.RULE('typedName', (): TypedName => {
    const name = this.SUBRULE(this.valueName);
    this.CONSUME(Colon);
    const type = this.SUBRULE(this.type);
    return { name, type };
  });

  private readonly type = this.RULE('type', (): TypeSyntax => {
    const dtype = this.CONSUME(Ident);
    const dims: Located<number>[] = [];
    this.CONSUME(LBracket);
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        const d = this.CONSUME(NumberLit);
        this.ACTION(() => dims.push({ value: parseNumber(d.image), loc: at(d) }));
      },
    });
    this.CONSUME(RBracket);
    return this.ACTION(() => ({ dtype: { value: dtype.image, loc: at(dtype) }, dims }));
  });

  private readonly valueName = this.RULE('valueName', (): Located<string> => {
    const tok = this.OR([{ ALT: () => this.CONSUME(BareValue) }, { ALT: () => this.CONSUME(QuotedValue) }]);
    return this.ACTION(() => nameOf(tok));
  });
}

const parser = new MirParser();

/** Parses .mir text into its syntax tree; throws MPCC2001 at the first lexical or syntax error. */
export function parseMirSyntax(text: string, file = '<input>'): MirSyntax {
  const lexed = mirLexer.tokenize(text);
  const fail = (msg: string, loc: SourceLoc) => locatedError(diag('MPCC2001', [msg]), text, file, loc);
  if (lexed.errors.length) {
    const e = lexed.errors[0];
    throw fail(`unexpected character ${JSON.stringify(text.slice(e.offset, e.offset + 1))}`, { line: e.line ?? 1, col: e.column ?? 1 });
  }
  const bad = lexed.tokens.find((t) => t.tokenType === BadString);
  if (bad) {
    const closed = bad.image.length > 1 && bad.image.endsWith('"') && /"/.test(bad.image.slice(0, -1));
    throw fail(closed ? 'invalid escape sequence in string' : 'unterminated string', at(bad));
  }
  parser.input = lexed.tokens;
  const tree = parser.file();
  if (parser.errors.length) {
    const e = parser.errors[0];
    const tok = e.token.tokenType === EOF ? lastTokenEnd(text) : at(e.token);
    throw fail(e.message, tok);
  }
  return tree;
}

/** Where the end of input is: just after the last non-blank character. */
function lastTokenEnd(text: string): SourceLoc {
  const trimmed = text.replace(/\s+$/, '');
  const lines = trimmed.split(/\r\n|\r|\n/);
  return { line: lines.length, col: lines[lines.length - 1].length + 1 };
}
