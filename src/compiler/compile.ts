// The front end's synchronous entry, every probe kind's readers imported: for callers that
// cannot wait (the shell's prompt, tests, benches). The commands compile through
// compile-async.ts, which imports the user-space probe readers only when a program needs them.
// Also the one-statement entry used by the interactive shell.

import type { AstStatement } from "./ast.ts";
import { buildStatement } from "./ast-builder.ts";
import {
  type CompileFileOptions,
  type CompileOptions,
  type CompileResult,
  compileWith,
  fileDiagnostic,
  readProgram,
} from "./compile-pipeline.ts";
import type { Diagnostic } from "./diagnostic.ts";
import { parseSource } from "./parse.ts";
import type { OptionValue, TrackerPlan } from "./plan.ts";
import { planUserProbe } from "./uprobe/probe-plan.ts";

export type { CompileFileOptions, CompileOptions, CompileResult } from "./compile-pipeline.ts";

export function compileSource(
  text: string,
  file: string,
  options: CompileOptions = {},
): CompileResult {
  return compileWith(planUserProbe, text, file, options);
}

/** Reads and compiles a file; unreadable, empty and non-UTF-8 files are diagnostics too. */
export function compileFile(
  path: string,
  options: CompileFileOptions = {},
): CompileResult & { text: string } {
  const { text, failed } = readProgram(path, options.bytes);
  return { ...(failed ?? compileSource(text, path, options)), text };
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
