// The compiler's front end as the shell uses it: a prompt line or a file checked against
// the catalog, the shell's tracker names and what its backend runs (chains, say, run on
// replay first), diagnostics rendered with their caret.

import { buildStatement } from "../compiler/ast-builder.ts";
import type { Catalog } from "../compiler/catalog/types.ts";
import type { BackendChoice } from "../compiler/checker-backend.ts";
import { compileSource, compileStatement } from "../compiler/compile.ts";
import type { Diagnostic } from "../compiler/diagnostic.ts";
import { parseSource } from "../compiler/parse.ts";
import { renderDiagnostics } from "../compiler/render.ts";
import type { FrontEnd } from "./statements.ts";

export function compilerFrontEnd(catalog: Catalog, backend: BackendChoice): FrontEnd {
  return {
    checkLine(line, existingNames) {
      const result = compileStatement(line, {
        catalog,
        existingNames,
        file: "<prompt>",
        backend,
      });
      const rendered = render(result.diagnostics, line);
      if (result.kind === "error") return { ok: false, errors: rendered.errors || rendered.all };
      const base = { ok: true as const, options: {}, warnings: rendered.all };
      if (result.kind === "set") {
        return {
          ...base,
          trackers: [],
          sets: [{ name: result.name, value: result.value, source: line }],
        };
      }
      return { ...base, trackers: [result.tracker], sets: [] };
    },
    checkFile(text, file, existingNames) {
      const { plan, diagnostics } = compileSource(text, file, { catalog, existingNames, backend });
      const rendered = render(diagnostics, text);
      if (!plan) return { ok: false, errors: rendered.errors || rendered.all };
      const sets = setStatements(text, file).map((s) => ({ ...s, value: plan.options[s.name] }));
      return {
        ok: true,
        trackers: plan.trackers,
        sets,
        options: plan.options,
        warnings: rendered.all,
      };
    },
  };
}

function render(diagnostics: Diagnostic[], text: string): { errors: string; all: string } {
  const errors = diagnostics.filter((d) => d.severity === "error");
  return { errors: renderDiagnostics(errors, text), all: renderDiagnostics(diagnostics, text) };
}

/** The `set` statements of a checked file, with their text (for :save). */
function setStatements(text: string, file: string): { name: string; source: string }[] {
  return parseSource(text, file)
    .statements.map((node) => buildStatement(file, node))
    .flatMap((s) =>
      s.kind === "set"
        ? [{ name: s.name, source: text.slice(s.range.offset, s.range.endOffset) }]
        : [],
    );
}
