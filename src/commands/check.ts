// `ltsh check FILE...`: compiles each file against the catalog and prints every diagnostic;
// silent with exit 0 when all are clean.

// The compiler is imported inside run(): `ltsh --help` and other commands do not pay for
// loading Chevrotain and building the parser. The catalog module is light (no parser).

import { CatalogError, type CatalogIndex, loadCatalog } from "../compiler/catalog/index.ts";
import { type Command, parseCommandArgs, UsageError } from "./usage.ts";

export const checkCommand: Command = {
  name: "check",
  help: `Usage: ltsh check [--catalog FILE] FILE.lt...

Checks each program: syntax, tracepoint and field names, key shapes, durations,
actions and options. Prints every problem as FILE:LINE:COL: error: MESSAGE with
the source line and a caret; prints nothing when all files are clean.

Options:
  --catalog FILE  tracepoint catalog: a JSON file (.gz ok), a tracefs events
                  directory, or "bundled" (default: live tracefs when readable,
                  else the bundled snapshot)
  -h, --help      show this help

Exit status: 0 clean (warnings allowed), 1 errors found, 2 bad usage.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { catalog: { type: "string" } });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError("expected at least one FILE.lt");
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const { compileFileAsync } = await import("../compiler/compile-async.ts");
    const { hasErrors } = await import("../compiler/diagnostic.ts");
    const { renderDiagnostics } = await import("../compiler/render.ts");
    let failed = false;
    for (const file of positionals) {
      // The language alone: `ltsh run` says when the chosen backend cannot run a tracker.
      const { diagnostics, text } = await compileFileAsync(file, { catalog, backend: "any" });
      process.stderr.write(renderDiagnostics(diagnostics, text));
      failed ||= hasErrors(diagnostics);
    }
    return failed ? 1 : 0;
  },
};

/** The catalog, or null after printing one line saying why it could not be read. */
export function loadCatalogOrReport(path: string | undefined): CatalogIndex | null {
  try {
    return loadCatalog(path === undefined ? {} : { path });
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    process.stderr.write(`ltsh: error: ${error.message}\n`);
    return null;
  }
}
