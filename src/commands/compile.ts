// `ltsh compile FILE.lt --emit plan | --target NAME [-o DIR]`: the TrackerPlan as JSON, or
// a backend's output through the target registry in src/compiler/targets.ts.

// The compiler is imported inside run(), as in ./check.ts.

import type { Diagnostic } from "../compiler/diagnostic.ts";
import { type EmitResult, findTarget, targets } from "../compiler/targets.ts";
import { loadCatalogOrReport } from "./check.ts";
import { type Command, parseCommandArgs, UsageError } from "./usage.ts";

export const compileCommand: Command = {
  name: "compile",
  help: `Usage: ltsh compile FILE.lt --emit plan [--catalog FILE]
       ltsh compile FILE.lt --target NAME [-o DIR] [--catalog FILE]

  --emit plan     print the TrackerPlan (the IR every backend consumes) as JSON
  --target NAME   run a backend's emitter (see the list below)
  -o, --out DIR   directory for targets that write files
  --catalog FILE  tracepoint catalog (JSON, .gz, tracefs events dir, or "bundled")
  -h, --help      show this help

Exit status: 0 success, 1 errors in the program or the target, 2 bad usage.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      emit: { type: "string" },
      target: { type: "string" },
      out: { type: "string", short: "o" },
      catalog: { type: "string" },
    });
    if (values.help) {
      process.stdout.write(`${this.help}\nTargets: ${targetList()}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("expected exactly one FILE.lt");
    if ((values.emit === undefined) === (values.target === undefined)) {
      throw new UsageError("give either --emit plan or --target NAME");
    }
    if (values.emit !== undefined && values.emit !== "plan") {
      throw new UsageError(
        `unknown --emit '${values.emit}' (only 'plan'; backends are --target: ${targetList()})`,
      );
    }
    const target = values.target === undefined ? undefined : findTarget(values.target);
    if (values.target !== undefined && !target) {
      process.stderr.write(
        `ltsh compile: error: unknown target '${values.target}'; available: ${targetList()}\n`,
      );
      return 2;
    }
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const { compileFileAsync } = await import("../compiler/compile-async.ts");
    const { hasErrors } = await import("../compiler/diagnostic.ts");
    const { renderDiagnostics } = await import("../compiler/render.ts");
    // Each target refuses what it cannot run yet, at check time; the plan is the language's.
    const backend = target?.name === "kmod" ? "kmod" : target ? "ebpf" : "any";
    const { plan, diagnostics, text } = await compileFileAsync(positionals[0], {
      catalog,
      backend,
    });
    process.stderr.write(renderDiagnostics(diagnostics, text));
    if (!plan || hasErrors(diagnostics)) return 1;
    if (!target) {
      process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      return 0;
    }
    let result: EmitResult;
    try {
      result = await target.emit(plan, values.out === undefined ? {} : { outDir: values.out });
    } catch (error) {
      // A target refuses a program by throwing an error that carries diagnostics (kmod's
      // KmodDiagnosticsError); anything else is still one line for the user, not a trace.
      const carried = (error as { diagnostics?: unknown }).diagnostics;
      if (Array.isArray(carried))
        process.stderr.write(renderDiagnostics(carried as Diagnostic[], text));
      else
        process.stderr.write(`ltsh compile: error: ${target.name}: ${(error as Error).message}\n`);
      return 1;
    }
    process.stdout.write(
      result.text.endsWith("\n") || result.text === "" ? result.text : `${result.text}\n`,
    );
    return 0;
  },
};

function targetList(): string {
  return targets.length > 0 ? targets.map((t) => t.name).join(", ") : "(none registered yet)";
}
