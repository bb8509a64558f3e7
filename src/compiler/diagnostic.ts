// One Diagnostic shape for every pass: lexer, parser, checker, planner, verifier.
// Rendering lives in ./render.ts; every user-facing error goes through it.

export type Severity = "error" | "warning" | "note";

/** 1-based line and column, 0-based offsets into the source text; `end` is exclusive. */
export interface SourceRange {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  offset: number;
  endOffset: number;
}

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. "unknown-tracepoint", "key-arity". */
  code: string;
  message: string;
  range: SourceRange;
  /** Extra lines printed after the caret ("did you mean ...", "fields: ..."). */
  notes?: string[];
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
