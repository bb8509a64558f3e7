// The front end as a pipeline: parse → AST → check → plan. Statements that parse are
// checked even when others have syntax errors; nothing is planned while an error remains.
// Its two entries differ in how the user-space probe readers (probes.ts) are had: compile.ts
// imports them, for callers that cannot wait; compile-async.ts, for the commands, imports
// them only for a program that may name a user-space probe.

import { readFileSync } from "node:fs";
import { buildStatement } from "./ast-builder.ts";
import { type CatalogIndex, indexCatalog, loadCatalog } from "./catalog/index.ts";
import type { Catalog } from "./catalog/types.ts";
import { checkProgram } from "./checker.ts";
import type { BackendChoice } from "./checker-backend.ts";
import { type Diagnostic, hasErrors, type SourceRange } from "./diagnostic.ts";
import { parseSource } from "./parse.ts";
import type { FilePlan } from "./plan.ts";
import { planProgram } from "./planner.ts";
import type { UserProbePlanner } from "./probes.ts";
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

/** Parse → AST → check → plan, user-space probes resolved by `userProbes` (probes.ts). */
export function compileWith(
  userProbes: UserProbePlanner,
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
  const { checked, diagnostics: checks } = checkProgram(
    program,
    catalog,
    userProbes,
    existing,
    backend,
  );
  const diagnostics = [...parsed.diagnostics, ...checks];
  if (hasErrors(diagnostics)) return failed(diagnostics);
  return { plan: planProgram(checked, text, existing), diagnostics: sortDiagnostics(diagnostics) };
}

/** A program file's text, or (`failed`) the diagnostic that says why it cannot be compiled. */
export type ProgramText = { text: string; failed: CompileResult | null };

/** Reads a program file (or decodes `bytes`, read already): unreadable and non-UTF-8 files fail. */
export function readProgram(path: string, bytes?: Buffer): ProgramText {
  try {
    bytes ??= readFileSync(path);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "no such file"
        : (error as Error).message;
    const unreadable = fileDiagnostic(path, "unreadable-file", `cannot read ${path}: ${reason}`);
    return { text: "", failed: failed([unreadable]) };
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
    const notes = ["ltsh programs are UTF-8 text; convert with iconv -t UTF-8"];
    return { text, failed: failed([{ ...d, notes }]) };
  }
  return { text, failed: null };
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

/** An error at `offset` of a file's text (its start by default). */
export function fileDiagnostic(
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
