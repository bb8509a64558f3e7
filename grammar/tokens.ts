// Every token of the ltsh language, in the order the lexer tries them. Order matters where
// patterns overlap: `->` before `-`; hex before numbers-with-units (`0x1f` is not "0 x1f");
// numbers-with-units (`200us`, `8MiB`) before plain integers; `category:name` (no spaces)
// before identifiers, so that `track wakeup: sched_wakeup(...)` (a tracker name, then a
// probe) differs from `track sched:sched_wakeup(...)` (a qualified probe). A user-space probe
// (`uprobe:./server:handle+4`, `usdt:/usr/bin/app:db:query__start`) is one token tried before
// `category:name`, so paths keep their `/`, `.` and `-`.

import type { Lexer as LexerType, TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.ts";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: Lexer.SKIPPED });

/** Any word usable as a field name after `args.` or in an option name: identifiers and keywords. */
export const AnyName = createToken({ name: "AnyName", label: "a name", pattern: Lexer.NA });

export const QualifiedName = createToken({
  name: "QualifiedName",
  label: "a category:name",
  pattern: /[A-Za-z_]\w*:[A-Za-z_]\w*/,
});
/**
 * `uprobe:PATH:SYMBOL[+OFFSET]`, `uprobe:PATH:0xADDRESS`, `uretprobe:PATH:SYMBOL`,
 * `usdt:PATH:[PROVIDER:]NAME`. A `-` followed by `>` ends it: `usdt:./a:x->b` is a link.
 * What the parts mean is src/compiler/uprobe/probe-target.ts's job.
 */
export const UserProbe = createToken({
  name: "UserProbe",
  label: "a user-space probe",
  pattern: /(?:uretprobe|uprobe|usdt):(?:[\w./+~@]|-(?!>))+(?::(?:[\w./+~@]|-(?!>))+)*/,
  start_chars_hint: ["u"],
});
export const Identifier = createToken({
  name: "Identifier",
  label: "a name",
  pattern: /[A-Za-z_]\w*/,
  categories: [AnyName],
});

/** Keywords are reserved words that still lex as longer identifiers (`tracker` is a name). */
function keyword(word: string): TokenType {
  return createToken({
    name: word[0].toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    label: `'${word}'`,
    longer_alt: [QualifiedName, Identifier],
    categories: [AnyName],
  });
}

export const Track = keyword("track");
/** Named SetKeyword so it does not shadow the global Set. */
export const SetKeyword = keyword("set");
export const Where = keyword("where");
export const Timeout = keyword("timeout");
export const Keep = keyword("keep");
export const Capacity = keyword("capacity");
export const Then = keyword("then");
export const Args = keyword("args");
export const Until = keyword("until");
export const Cancel = keyword("cancel");

export const Arrow = createToken({ name: "Arrow", label: "'->'", pattern: /->/ });
/** `~>`: the chain link of a critical-path tracker (follows the execution context). */
export const ChainArrow = createToken({ name: "ChainArrow", label: "'~>'", pattern: /~>/ });
export const Minus = createToken({ name: "Minus", label: "'-'", pattern: /-/ });
export const Equal = createToken({ name: "Equal", label: "'=='", pattern: /==/ });
export const NotEqual = createToken({ name: "NotEqual", label: "'!='", pattern: /!=/ });
export const LessEqual = createToken({ name: "LessEqual", label: "'<='", pattern: /<=/ });
export const GreaterEqual = createToken({ name: "GreaterEqual", label: "'>='", pattern: />=/ });
export const Less = createToken({ name: "Less", label: "'<'", pattern: /</ });
export const Greater = createToken({ name: "Greater", label: "'>'", pattern: />/ });
export const AndAnd = createToken({ name: "AndAnd", label: "'&&'", pattern: /&&/ });
export const OrOr = createToken({ name: "OrOr", label: "'||'", pattern: /\|\|/ });
export const Bang = createToken({ name: "Bang", label: "'!'", pattern: /!/ });
export const Assign = createToken({ name: "Assign", label: "'='", pattern: /=/ });
export const Pipe = createToken({ name: "Pipe", label: "'|'", pattern: /\|/ });
export const LParen = createToken({ name: "LParen", label: "'('", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", label: "')'", pattern: /\)/ });
export const LCurly = createToken({ name: "LCurly", label: "'{'", pattern: /\{/ });
export const RCurly = createToken({ name: "RCurly", label: "'}'", pattern: /\}/ });
export const Comma = createToken({ name: "Comma", label: "','", pattern: /,/ });
export const Colon = createToken({ name: "Colon", label: "':'", pattern: /:/ });
export const Dot = createToken({ name: "Dot", label: "'.'", pattern: /\./ });
/** `$pid`: always the builtin, even on an event with a `pid` field. */
export const BuiltinRef = createToken({
  name: "BuiltinRef",
  label: "a builtin such as $pid",
  pattern: /\$[A-Za-z_]\w*/,
});

export const HexInteger = createToken({
  name: "HexInteger",
  label: "a hex integer",
  pattern: /0[xX][0-9a-fA-F]+/,
});
/** `200us`, `8MiB`, `5x`: the unit is checked later, so a bad unit gets a precise error. */
export const NumberWithUnit = createToken({
  name: "NumberWithUnit",
  label: "a number with a unit such as 200us",
  pattern: /\d+[A-Za-z_]\w*/,
});
export const Integer = createToken({ name: "Integer", label: "an integer", pattern: /\d+/ });
/** Double-quoted, with backslash escapes. */
export const StringLiteral = createToken({
  name: "StringLiteral",
  label: "a string",
  pattern: /"(?:[^"\\\n]|\\.)*"/,
});
/** A string cut by the end of the line: parsed as a string so the checker can say so precisely. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  label: "a string",
  pattern: /"(?:[^"\\\n]|\\.)*/,
  categories: [StringLiteral],
});

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  AnyName,
  Track,
  SetKeyword,
  Where,
  Timeout,
  Keep,
  Capacity,
  Then,
  Args,
  Until,
  Cancel,
  UserProbe,
  QualifiedName,
  Identifier,
  BuiltinRef,
  Arrow,
  ChainArrow,
  Minus,
  Equal,
  NotEqual,
  LessEqual,
  GreaterEqual,
  Less,
  Greater,
  AndAnd,
  OrOr,
  Bang,
  Assign,
  Pipe,
  LParen,
  RParen,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Dot,
  HexInteger,
  NumberWithUnit,
  Integer,
  StringLiteral,
  UnterminatedString,
];

export const KEYWORDS = [
  "track",
  "set",
  "where",
  "timeout",
  "keep",
  "capacity",
  "then",
  "args",
  "until",
  "cancel",
];

/**
 * Validations cost ~20 ms per start and only catch mistakes in this file: they run in
 * test/grammar (createLexer({ validate: true })), not on every `ltsh` invocation.
 */
export function createLexer(options: { validate: boolean }): LexerType {
  return new Lexer(allTokens, { positionTracking: "full", skipValidations: !options.validate });
}

export const ltshLexer = createLexer({ validate: false });
