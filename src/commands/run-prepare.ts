// From FILE.lt to what `ltsh run` starts: the TrackerPlans and, when this file, ltsh and the
// kernel were seen before, the backend's artifacts from the compiled cache (generated BPF
// programs, a built module). On a hit nothing of the compiler is imported
// (test/kernel/live-compiled-cache); on a miss the artifacts the session compiles are kept.

import { readFileSync } from "node:fs";
import type { Diagnostic } from "../compiler/diagnostic.ts";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import { type BackendName, keepsArtifacts } from "../session/backends.ts";
import type { Artifact } from "../session/types.ts";

export interface PreparedRun {
  options: Record<string, OptionValue>;
  trackers: TrackerPlan[];
  /** The compiled cache's artifacts, in the order of `trackers`; null: compile them. */
  artifacts: Artifact[] | null;
  /** Keeps the artifacts compiled for this run for the next one (best effort). */
  keep(artifacts: Artifact[]): Promise<void>;
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
  const cached = keepsArtifacts(backend) && flags.cache && flags.catalog === undefined;
  const lookup = cached ? await lookUp(path, backend) : null;
  if (lookup?.entry) {
    const { entry, bytes } = lookup;
    await printDiagnostics(entry.diagnostics, new TextDecoder().decode(bytes));
    const trackers = entry.artifacts.map((a) => a.plan);
    return { options: entry.options, trackers, artifacts: entry.artifacts, keep: async () => {} };
  }
  const { loadCatalogOrReport } = await import("./check.ts");
  const { compileFileAsync } = await import("../compiler/compile-async.ts");
  const catalog = loadCatalogOrReport(flags.catalog);
  if (!catalog) return null;
  // The bytes the key was made from: what is compiled is what is stored under that key.
  const { plan, diagnostics, text } = await compileFileAsync(path, {
    catalog,
    bytes: lookup?.bytes,
    backend,
  });
  await printDiagnostics(diagnostics, text);
  if (!plan) return null;
  const keep = async (artifacts: Artifact[]) => {
    // Only what was compiled against this kernel's tracefs, from the very bytes the key names.
    if (lookup === null || !catalog.source.startsWith("tracefs:")) return;
    const { writeCompiled } = await import("../session/compiled-cache.ts");
    const entry = { options: plan.options, diagnostics, artifacts };
    writeCompiled(lookup.dir, lookup.key, entry, lookup.eventsDir);
  };
  return { options: plan.options, trackers: plan.trackers, artifacts: null, keep };
}

/** The cache entry of this file, if any; null when the cache cannot be used at all. */
async function lookUp(path: string, backend: BackendName) {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null; // the compile says why, as a diagnostic
  }
  const cache = await import("../session/compiled-cache.ts");
  const eventsDir = cache.tracefsEventsDir();
  if (eventsDir === null) return null;
  const identity = cache.currentIdentity();
  if (identity === null) return null;
  const dir = cache.cacheDir();
  const inputs = { path, bytes, flags: { backend, catalog: null } };
  const key = cache.cacheKey(inputs, identity);
  return { dir, key, bytes, eventsDir, entry: cache.readCompiled(dir, key, eventsDir) };
}

async function printDiagnostics(diagnostics: Diagnostic[], text: string): Promise<void> {
  if (diagnostics.length === 0) return;
  const { renderDiagnostics } = await import("../compiler/render.ts");
  process.stderr.write(renderDiagnostics(diagnostics, text));
}
