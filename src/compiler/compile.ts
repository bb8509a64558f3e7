// The front end as a pipeline: parse → AST → check → plan. Statements that parse are
// checked even when others have syntax errors; nothing is planned while an error remains.
// Also the one-statement entry used by the interactive shell.

import { readFileSync } from "node:fs";
import type { AstStatement } from "./ast.ts";
import { buildStatement } from "./ast-builder.ts";
import { type CatalogIndex, indexCatalog, loadCatalog } from "./catalog/index.ts";
import type { Catalog } from "./catalog/types.ts";
import { checkProgram } from "./checker.ts";
import type { BackendChoice } from "./checker-backend.ts";
import { type Diagnostic, hasErrors, type SourceRange } from "./diagnostic.ts";
import { parseSource } from "./parse.ts";
import type { FilePlan, OptionValue, TrackerPlan } from "./plan.ts";
import { planProgram } from "./planner.ts";
import { sortDiagnostics } from "./render.ts";

export interface CompileOptions {
  /** Default: live tracefs when readable, else the bundled snapshot. */
  catalog?: Catalog;
  /** Tracker names already in use (the shell's running trackers): given names must differ. */
  existingNames?: readonly string[];
  /**
   * The backend that will run the plan: what it cannot run yet is an error with a caret.
   * Default "ebpf", the live default, so that a caller that does not say is safe.
   */
  backend?: BackendChoice;
}

export interface CompileFileOptions extends CompileOptions {
  /** The file's bytes when the caller has read them already (compileFile reads them). */
  bytes?: Buffer;
}

export interface CompileResult {
  plan: FilePlan | null;
  /** Sorted by position; warnings may come with a plan. */
  diagnostics: Diagnostic[];
}

export function compileSource(
  text: string,
  file: string,
  options: CompileOptions = {},
): CompileResult {
  const catalog = resolveCatalog(options.catalog);
  const existing = options.existingNames ?? [];
  const parsed = parseSource(text, file);
  const program = { file, statements: parsed.statements.map((s) => buildStatement(file, s)) };
  if (program.statements.length === 0) {
    return failed(hasErrors(parsed.diagnostics) ? parsed.diagnostics : [emptyProgram(file, text)]);
  }
  // The statements that parsed are checked even when others did not: a user fixing a file
  // sees every error at once. Planning needs the whole program to be right.
  const backend = options.backend ?? "ebpf";
  const { checked, diagnostics: checks } = checkProgram(program, catalog, existing, backend);
  const diagnostics = [...parsed.diagnostics, ...checks];
  if (hasErrors(diagnostics)) return failed(diagnostics);
  return { plan: planProgram(checked, text, existing), diagnostics: sortDiagnostics(diagnostics) };
}

/** Reads and compiles a file; unreadable, empty and non-UTF-8 files are diagnostics too. */
export function compileFile(
  path: string,
  options: CompileFileOptions = {},
): CompileResult & { text: string } {
  let bytes: Buffer;
  try {
    bytes = options.bytes ?? readFileSync(path);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "no such file"
        : (error as Error).message;
    return {
      ...failed([fileDiagnostic(path, "unreadable-file", `cannot read ${path}: ${reason}`)]),
      text: "",
    };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder("utf-8").decode(bytes);
    const d = fileDiagnostic(
      path,
      "not-utf8",
      `${path} is not UTF-8 text`,
      text,
      text.indexOf("\uFFFD"),
    );
    return {
      ...failed([{ ...d, notes: ["ltsh programs are UTF-8 text; convert with iconv -t UTF-8"] }]),
      text,
    };
  }
  return { ...compileSource(text, path, options), text };
}

export type StatementResult =
  | { kind: "track"; tracker: TrackerPlan; diagnostics: Diagnostic[] }
  | { kind: "set"; name: string; value: OptionValue; diagnostics: Diagnostic[] }
  | { kind: "error"; diagnostics: Diagnostic[] };

/** One `track ...` or `set ...` typed at the shell's prompt. */
export function compileStatement(
  text: string,
  options: CompileOptions & { file?: string } = {},
): StatementResult {
  const file = options.file ?? "<prompt>";
  const result = compileSource(text, file, options);
  const { plan, diagnostics } = result;
  if (!plan) return { kind: "error", diagnostics };
  const statements = parseSource(text, file).statements.map(
    (s): AstStatement => buildStatement(file, s),
  );
  if (statements.length !== 1) {
    const d = fileDiagnostic(file, "one-statement", "type one statement at a time", text, 0);
    return { kind: "error", diagnostics: [d] };
  }
  if (statements[0].kind === "set") {
    const name = statements[0].name;
    return { kind: "set", name, value: plan.options[name], diagnostics };
  }
  return { kind: "track", tracker: plan.trackers[0], diagnostics };
}

/** loadCatalog() and indexCatalog() cache, so this costs nothing after the first call. */
function resolveCatalog(catalog: Catalog | undefined): CatalogIndex {
  return catalog ? indexCatalog(catalog) : loadCatalog();
}

function failed(diagnostics: Diagnostic[]): CompileResult {
  return { plan: null, diagnostics: sortDiagnostics(diagnostics) };
}

function emptyProgram(file: string, text: string): Diagnostic {
  const message =
    text.trim() === "" ? `${file} is empty` : `${file} has no statement (only comments)`;
  return {
    ...fileDiagnostic(file, "empty-program", message, text, 0),
    notes: [
      "a program has 'track' statements, e.g. track sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us",
    ],
  };
}

function fileDiagnostic(
  file: string,
  code: string,
  message: string,
  text = "",
  offset = 0,
): Diagnostic {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  const range: SourceRange = {
    file,
    line,
    col,
    endLine: line,
    endCol: col + 1,
    offset,
    endOffset: offset + 1,
  };
  return { severity: "error", code, message, range };
}
