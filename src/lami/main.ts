// ltsh-lami: ltsh as an external analysis of Trace Compass, following LAMI 1.0 (the spec:
// lttng/lami-spec, lami.adoc). Trace Compass calls it with the command the user gave
// (`ltsh-lami FILE.lt`) followed by one phase's arguments:
//   --mi-version                    (alone)       → "1.0"
//   FILE.lt --metadata                            → the metadata object
//   FILE.lt --test-compatibility TRACE            → exit 0 and no output when readable
//   FILE.lt [--begin NS --end NS] [--output-progress] [--limit N] TRACE → the results
// Any failure is LAMI's error object on stdout and a non-zero exit.

import { parseArgs } from "node:util";
import type { TrackerPlan } from "../compiler/plan.ts";
import { TraceError } from "../replay/reader.ts";
import { analyse } from "./analysis.ts";
import { lamiJson } from "./json.ts";
import { metadata } from "./metadata.ts";
import { histogramTable, hitsTable, statsTable, timeRange } from "./tables.ts";
import { incompatibility, LamiError, openTraceInput } from "./trace-input.ts";

const USAGE =
  "usage: ltsh-lami --mi-version | FILE.lt --metadata | FILE.lt --test-compatibility TRACE | " +
  "FILE.lt [--begin NS --end NS] [--output-progress] [--limit N|unlimited] TRACE";

interface Arguments {
  values: Record<string, string | boolean | undefined>;
  program: string | null;
  trace: string | null;
}

function parse(argv: string[]): Arguments {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "mi-version": { type: "boolean" },
        metadata: { type: "boolean" },
        "test-compatibility": { type: "boolean" },
        begin: { type: "string" },
        end: { type: "string" },
        limit: { type: "string" },
        "output-progress": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new LamiError(`${(error as Error).message.replace(/\. To specify.*$/s, "")}; ${USAGE}`);
  }
  const programs = parsed.positionals.filter((arg) => arg.endsWith(".lt"));
  const traces = parsed.positionals.filter((arg) => !arg.endsWith(".lt"));
  if (programs.length > 1 || traces.length > 1)
    throw new LamiError(`expected one FILE.lt and one TRACE; ${USAGE}`);
  const values = parsed.values as Arguments["values"];
  return { values, program: programs[0] ?? null, trace: traces[0] ?? null };
}

/** A --begin/--end value: integer nanoseconds. */
function timeArgument(name: string, text: string | boolean | undefined): bigint | null {
  if (text === undefined || typeof text === "boolean") return null;
  if (!/^\d+$/.test(text)) throw new LamiError(`--${name} ${text}: expected nanoseconds`);
  return BigInt(text);
}

function limitArgument(text: string | boolean | undefined): number {
  if (text === undefined || text === "unlimited") return Number.POSITIVE_INFINITY;
  if (typeof text !== "string" || !/^\d+$/.test(text))
    throw new LamiError(`--limit ${text}: expected a count or "unlimited"`);
  return Number(text);
}

/** The program's trackers; its diagnostics (with the line and a caret) as the error. */
async function compileProgram(path: string | null): Promise<TrackerPlan[]> {
  if (path === null)
    throw new LamiError(
      `the .lt program is missing: give the command as 'ltsh-lami FILE.lt'; ${USAGE}`,
    );
  const { loadCatalog } = await import("../compiler/catalog/index.ts");
  const { compileFile } = await import("../compiler/compile.ts");
  const { renderDiagnostics } = await import("../compiler/render.ts");
  const { plan, diagnostics, text } = compileFile(path, { catalog: loadCatalog() });
  if (plan === null) throw new LamiError(renderDiagnostics(diagnostics, text).trimEnd());
  return plan.trackers;
}

async function results(args: Arguments, write: (text: string) => void): Promise<void> {
  const beginNs = timeArgument("begin", args.values.begin);
  const endNs = timeArgument("end", args.values.end);
  const limit = limitArgument(args.values.limit);
  const trackers = await compileProgram(args.program);
  if (args.trace === null) throw new LamiError(`the trace is missing; ${USAGE}`);
  const progress = args.values["output-progress"] === true;
  if (progress) write(`* replaying ${args.trace}\n`);
  const input = await openTraceInput(args.trace);
  try {
    const result = await analyse({
      trackers,
      tracePath: input.path,
      traceName: args.trace,
      beginNs,
      endNs,
      warning: (message) => process.stderr.write(`ltsh-lami: warning: ${message}\n`),
      progress: progress ? (events) => write(`* ${events} events\n`) : undefined,
    });
    if (progress) write("* done\n");
    const range = timeRange(beginNs ?? result.firstNs ?? 0n, endNs ?? result.lastNs ?? 0n);
    const tables = [
      hitsTable(range, result.hits, limit),
      statsTable(range, result.summaries),
      ...result.summaries.map((summary) => histogramTable(range, summary)),
    ];
    write(`${lamiJson({ results: tables })}\n`);
  } finally {
    input.cleanup();
  }
}

/** Runs one LAMI phase; returns the exit status. Output goes through `write` (stdout). */
export async function lamiMain(
  argv: string[],
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  try {
    const args = parse(argv);
    if (args.values.help) {
      write(`${USAGE}\n`);
      return 0;
    }
    if (args.values["mi-version"]) {
      write("1.0\n");
      return 0;
    }
    if (args.values.metadata) {
      write(`${lamiJson(metadata(args.program))}\n`);
      return 0;
    }
    if (args.values["test-compatibility"]) {
      if (args.trace === null) throw new LamiError(`--test-compatibility needs a TRACE; ${USAGE}`);
      const problem = incompatibility(args.trace);
      if (problem === null) return 0;
      throw new LamiError(problem);
    }
    await results(args, write);
    return 0;
  } catch (error) {
    if (!(error instanceof LamiError || error instanceof TraceError)) throw error;
    write(`${lamiJson({ "error-message": error.message, "error-code": 1 })}\n`);
    return 1;
  }
}
