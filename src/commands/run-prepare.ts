// From FILE.lt to what `ltsh run` starts: the TrackerPlans, and for the live backend their
// generated programs, taken from the compiled cache when this file, ltsh and kernel were
// seen before. On a hit nothing of the compiler is imported (test/kernel/live-compiled-cache).

import { readFileSync } from "node:fs";
import type { TrackerObject } from "../compiler/bpf/object.ts";
import type { Diagnostic } from "../compiler/diagnostic.ts";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import type { BackendName } from "../session/backends.ts";

export interface PreparedRun {
  options: Record<string, OptionValue>;
  trackers: TrackerPlan[];
  /** Live backend only: each tracker's programs, in the order of `trackers`. */
  objects: TrackerObject[] | null;
}

export interface PrepareFlags {
  catalog?: string;
  /** False with --no-cache or LTSH_NO_CACHE=1: compile, and keep nothing. */
  cache: boolean;
}

/** Prints the diagnostics; null when the file has errors (or the catalog cannot be read, ...). */
export async function prepareRun(
  path: string,
  backend: BackendName,
  flags: PrepareFlags,
): Promise<PreparedRun | null> {
  const cached = backend === "live" && flags.cache && flags.catalog === undefined;
  const lookup = cached ? await lookUp(path) : null;
  if (lookup?.entry) {
    const { entry, bytes } = lookup;
    await printDiagnostics(entry.diagnostics, new TextDecoder().decode(bytes));
    const trackers = entry.trackers.map((t) => t.layout.plan);
    return { options: entry.options, trackers, objects: entry.trackers };
  }
  const { loadCatalogOrReport } = await import("./check.ts");
  const { compileFile } = await import("../compiler/compile.ts");
  const catalog = loadCatalogOrReport(flags.catalog);
  if (!catalog) return null;
  // The bytes the key was made from: what is compiled is what is stored under that key.
  const compileBackend = backend === "live" ? "ebpf" : backend;
  const { plan, diagnostics, text } = compileFile(path, {
    catalog,
    bytes: lookup?.bytes,
    backend: compileBackend,
  });
  await printDiagnostics(diagnostics, text);
  if (!plan) return null;
  if (backend !== "live") return { options: plan.options, trackers: plan.trackers, objects: null };
  const { generateLivePrograms } = await import("../session/live-codegen.ts");
  let objects: TrackerObject[];
  try {
    objects = generateLivePrograms(plan);
  } catch (error) {
    // A compiler bug: said in one line, as when the session generated the programs itself.
    process.stderr.write(`ltsh run: error: ${(error as Error).message}\n`);
    return null;
  }
  // Only what was compiled against this kernel's tracefs, from the very bytes the key names.
  if (lookup !== null && catalog.source.startsWith("tracefs:")) {
    const { writeCompiled } = await import("../session/compiled-cache.ts");
    const entry = { options: plan.options, diagnostics, trackers: objects };
    writeCompiled(lookup.dir, lookup.key, entry, lookup.eventsDir);
  }
  return { options: plan.options, trackers: plan.trackers, objects };
}

/** The cache entry of this file, if any; null when the cache cannot be used at all. */
async function lookUp(path: string) {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null; // the compile says why, as a diagnostic
  }
  const cache = await import("../session/compiled-cache.ts");
  const eventsDir = cache.liveEventsDir();
  if (eventsDir === null) return null;
  const identity = cache.currentIdentity();
  if (identity === null) return null;
  const dir = cache.cacheDir();
  const inputs = { path, bytes, flags: { target: "ebpf", catalog: null } };
  const key = cache.cacheKey(inputs, identity);
  return { dir, key, bytes, eventsDir, entry: cache.readCompiled(dir, key, eventsDir) };
}

async function printDiagnostics(diagnostics: Diagnostic[], text: string): Promise<void> {
  if (diagnostics.length === 0) return;
  const { renderDiagnostics } = await import("../compiler/render.ts");
  process.stderr.write(renderDiagnostics(diagnostics, text));
}
