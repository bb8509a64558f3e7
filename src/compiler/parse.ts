// Pass 1: text → CST statements, with every lexer and parser error as a Diagnostic.
// The token stream is cut into statements at `track` and `set`, so an error in one
// statement neither hides the next one nor produces cascades of follow-on errors.

import type { IRecognitionException, IToken } from "chevrotain";
import type * as cst from "../../grammar/cst.d.ts";
import { parser } from "../../grammar/parser.ts";
import {
  Bang,
  Integer,
  KEYWORDS,
  LCurly,
  LParen,
  ltshLexer,
  RCurly,
  RParen,
  SetKeyword,
  Track,
  UnterminatedString,
} from "../../grammar/tokens.ts";
import { tokenRange } from "./ast-builder.ts";
import type { Diagnostic, SourceRange } from "./diagnostic.ts";
import { suggest } from "./suggest.ts";
import { DURATION_UNITS, SIZE_UNITS } from "./units.ts";

export interface ParseResult {
  statements: cst.StatementCstNode[];
  diagnostics: Diagnostic[];
}

export function parseSource(text: string, file: string): ParseResult {
  const lexed = ltshLexer.tokenize(text);
  const diagnostics: Diagnostic[] = lexed.errors.map((e) => {
    const hint = MISTAKES.get(text[e.offset]);
    return {
      severity: "error",
      code: "unexpected-character",
      message: `unexpected character '${text[e.offset]}'`,
      range: pointRange(text, file, e.offset, e.length),
      ...(hint ? { notes: [hint] } : {}),
    };
  });
  for (const token of lexed.tokens) {
    if (token.tokenType === UnterminatedString) {
      diagnostics.push({
        severity: "error",
        code: "unterminated-string",
        message: "unterminated string: add the closing '\"' on the same line",
        range: tokenRange(file, token),
      });
    }
  }
  const statements: cst.StatementCstNode[] = [];
  const chunks = splitStatements(lexed.tokens);
  for (const [index, chunk] of chunks.entries()) {
    if (!isStatementStart(chunk[0])) {
      diagnostics.push(strayTokenDiagnostic(file, chunk[0]));
      continue;
    }
    const tooComplex = complexityDiagnostic(file, chunk);
    if (tooComplex) {
      diagnostics.push(tooComplex);
      continue;
    }
    parser.input = chunk;
    const statement = parser.statement() as cst.StatementCstNode;
    // After the first error in a statement, recovery guesses and the next errors are
    // mostly echoes of the first: one per statement is what a user can act on.
    // A character the lexer dropped explains the statement's parse error already.
    const errors = parser.errors;
    const next = chunks[index + 1]?.[0];
    const end = next?.startOffset ?? Number.POSITIVE_INFINITY;
    const dropped = lexed.errors.some((e) => e.offset > chunk[0].startOffset && e.offset < end);
    if (errors.length > 0 && !dropped) {
      diagnostics.push(parserDiagnostic(file, errors[0], chunk, next));
    }
    if (errors.length === 0) statements.push(statement);
  }
  return { statements, diagnostics };
}

function isStatementStart(token: IToken): boolean {
  return token.tokenType === Track || token.tokenType === SetKeyword;
}

/** Cuts before every `track` and `set`; leading junk becomes its own chunk. */
function splitStatements(tokens: IToken[]): IToken[][] {
  const chunks: IToken[][] = [];
  for (const token of tokens) {
    if (chunks.length === 0 || isStatementStart(token)) chunks.push([]);
    chunks[chunks.length - 1].push(token);
  }
  return chunks;
}

/** Limits that keep the recursive parser, builder and checker far from the stack's end. */
export const MAX_NESTING = 32;
export const MAX_STATEMENT_TOKENS = 2000;

function complexityDiagnostic(file: string, chunk: IToken[]): Diagnostic | null {
  const error = (token: IToken, message: string): Diagnostic => ({
    severity: "error",
    code: "too-complex",
    message,
    range: tokenRange(file, token),
  });
  if (chunk.length > MAX_STATEMENT_TOKENS) {
    return error(chunk[0], `this statement has more than ${MAX_STATEMENT_TOKENS} tokens: split it`);
  }
  let depth = 0;
  let bangs = 0;
  for (const token of chunk) {
    if (token.tokenType === LParen || token.tokenType === LCurly) depth++;
    if (token.tokenType === RParen || token.tokenType === RCurly) depth--;
    bangs = token.tokenType === Bang ? bangs + 1 : 0;
    if (depth + bangs > MAX_NESTING) {
      return error(token, `more than ${MAX_NESTING} nested parentheses, braces or '!'`);
    }
  }
  return null;
}

function strayTokenDiagnostic(file: string, token: IToken): Diagnostic {
  return {
    severity: "error",
    code: "expected-statement",
    message: `expected 'track' or 'set', found '${token.image}'`,
    range: tokenRange(file, token),
    notes: keywordHint(token.image),
  };
}

/** `next`: the token after this statement's chunk, which the parser saw as the end. */
function parserDiagnostic(
  file: string,
  error: IRecognitionException,
  chunk: IToken[],
  next: IToken | undefined,
): Diagnostic {
  if (next)
    error.message = error.message.replace("found the end of the input", `found '${next.image}'`);
  const token = hasPosition(error.token) ? error.token : undefined;
  const previous = (error as { previousToken?: IToken }).previousToken;
  const range = token
    ? tokenRange(file, token)
    : endOf(file, previous && hasPosition(previous) ? previous : chunk[chunk.length - 1]);
  const before = token && chunk[chunk.indexOf(token) - 1];
  const mistake = token && (MISTAKES.get(token.image) ?? (before && MISTAKES.get(before.image)));
  const notes = token
    ? mistake
      ? [mistake]
      : (unitHint(token, chunk) ?? keywordHint(token.image))
    : undefined;
  if (!notes && error.name === "NotAllInputParsedException" && chunk[0].tokenType === Track) {
    return {
      severity: "error",
      code: "syntax",
      message: error.message,
      range,
      notes: [TRACK_CLAUSES],
    };
  }
  return {
    severity: "error",
    code: "syntax",
    message: error.message,
    range,
    ...(notes ? { notes } : {}),
  };
}

const TRACK_CLAUSES =
  "a tracker continues with > DURATION, timeout DURATION, keep first|last, capacity N, cancel PROBE(key) or then ACTION, ...; a chain (~>) also with until run|block";

/** Tokens made up by error recovery, and the end-of-input token, have NaN or -1 offsets. */
function hasPosition(token: IToken): boolean {
  return Number.isFinite(token.startOffset) && token.startOffset >= 0;
}

/** Recovered and end-of-input tokens have no position: point just after the previous token. */
function endOf(file: string, token: IToken): SourceRange {
  const r = tokenRange(file, token);
  return {
    ...r,
    line: r.endLine,
    col: r.endCol,
    offset: r.endOffset,
    endCol: r.endCol + 1,
    endOffset: r.endOffset + 1,
  };
}

/** Habits from other languages, and what ltsh spells instead. */
const MISTAKES = new Map([
  ["=", "compare with =="],
  ["&", "'and' is &&"],
  ["and", "'and' is &&"],
  ["or", "'or' is ||"],
  ["not", "'not' is !"],
]);

/** `200 us`: a unit separated from its number. */
function unitHint(token: IToken, chunk: IToken[]): string[] | undefined {
  const before = chunk[chunk.indexOf(token) - 1];
  const isUnit =
    Object.hasOwn(DURATION_UNITS, token.image) || Object.hasOwn(SIZE_UNITS, token.image);
  if (!isUnit || before?.tokenType !== Integer) return undefined;
  return [`write ${before.image}${token.image}, without a space`];
}

function keywordHint(word: string): string[] | undefined {
  if (KEYWORDS.includes(word)) return undefined;
  const [best] = suggest(word, KEYWORDS, 1);
  return best ? [`did you mean '${best}'?`] : undefined;
}

function pointRange(text: string, file: string, offset: number, length: number): SourceRange {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return {
    file,
    line,
    col,
    endLine: line,
    endCol: col + length,
    offset,
    endOffset: offset + length,
  };
}
