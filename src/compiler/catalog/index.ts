// The tracepoint catalog: where it comes from (live tracefs, a bundled snapshot, a file)
// and how names are looked up. Live formats are parsed lazily: ~2300 events exist and a
// program names a handful.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { suggest } from "../suggest.ts";
import { parseFormat } from "./format.ts";
import type { Catalog, Tracepoint } from "./types.ts";

export const TRACEFS_EVENT_DIRS = [
  "/sys/kernel/tracing/events",
  "/sys/kernel/debug/tracing/events",
];
export const BUNDLED_CATALOG = new URL("./bundled.json.gz", import.meta.url);

/** A catalog that could not be read: one line for the user, exit 1. */
export class CatalogError extends Error {}

export type LookupResult =
  | { ok: true; tracepoint: Tracepoint }
  | { ok: false; reason: "unknown"; suggestions: string[] }
  | { ok: false; reason: "ambiguous"; candidates: string[] };

/** Reads one event's format; null when it cannot be read. */
type FormatLoader = (category: string, name: string) => Tracepoint | null;

/**
 * A Catalog with name lookups that neither parse every format nor split the event list: the
 * ids stay one string ("\ncategory:name\n..."), searched when a name is looked up. A start
 * names a handful of events out of ~2300; an entry, a closure and a path for each of them
 * cost a `ltsh check` ~25 ms of CPU, most of it the collector's (87 → 63 ms, perf stat).
 */
export class CatalogIndex implements Catalog {
  readonly source: string;
  readonly kernelRelease?: string;
  private readonly list: string;
  private readonly load: FormatLoader;
  private readonly loaded = new Map<string, Tracepoint | null>();

  /** `ids`: one "category:name" per line, as tracefs's available_events lists them. */
  constructor(source: string, kernelRelease: string | undefined, ids: string, load: FormatLoader) {
    this.source = source;
    if (kernelRelease !== undefined) this.kernelRelease = kernelRelease;
    this.list = `\n${ids.trim()}\n`;
    this.load = load;
  }

  /** Every parsed tracepoint; this reads every format, so prefer get() and find(). */
  get tracepoints(): Tracepoint[] {
    return this.ids()
      .map((id) => this.getById(id))
      .filter((t): t is Tracepoint => t !== undefined);
  }

  /** "category:name" of every event, sorted, without parsing formats. */
  ids(): string[] {
    return this.list
      .split("\n")
      .filter((line) => line.includes(":"))
      .sort();
  }

  get(category: string, name: string): Tracepoint | undefined {
    return this.getById(`${category}:${name}`);
  }

  /** By "category:name", or by a name that only one category has. */
  find(spec: string): LookupResult {
    const colon = spec.indexOf(":");
    const ids = colon >= 0 ? (this.has(spec) ? [spec] : []) : this.idsNamed(spec);
    if (ids.length > 1) return { ok: false, reason: "ambiguous", candidates: ids };
    const tracepoint = ids.length === 1 ? this.getById(ids[0]) : undefined;
    if (tracepoint) return { ok: true, tracepoint };
    const all = this.ids();
    const pool = colon >= 0 ? all : new Set(all.map((id) => id.slice(id.indexOf(":") + 1)));
    return { ok: false, reason: "unknown", suggestions: suggest(spec, pool) };
  }

  private has(id: string): boolean {
    return !id.includes("\n") && this.list.includes(`\n${id}\n`);
  }

  /** The ids of every event called `name`, in any category. */
  private idsNamed(name: string): string[] {
    if (name === "" || name.includes("\n")) return [];
    const ids: string[] = [];
    const needle = `:${name}\n`;
    for (let at = this.list.indexOf(needle); at >= 0; at = this.list.indexOf(needle, at + 1)) {
      const start = this.list.lastIndexOf("\n", at) + 1;
      ids.push(this.list.slice(start, at + needle.length - 1));
    }
    return ids;
  }

  private getById(id: string): Tracepoint | undefined {
    let tracepoint = this.loaded.get(id);
    if (tracepoint === undefined) {
      if (!this.has(id)) return undefined;
      const colon = id.indexOf(":");
      tracepoint = this.load(id.slice(0, colon), id.slice(colon + 1));
      this.loaded.set(id, tracepoint);
    }
    return tracepoint ?? undefined;
  }
}

const indexes = new WeakMap<Catalog, CatalogIndex>();

/** Wraps a plain Catalog (a test's, or one read from JSON) for lookups, once per object. */
export function indexCatalog(catalog: Catalog): CatalogIndex {
  if (catalog instanceof CatalogIndex) return catalog;
  let index = indexes.get(catalog);
  if (!index) {
    const byId = new Map(catalog.tracepoints.map((t) => [`${t.category}:${t.name}`, t]));
    const ids = [...byId.keys()].join("\n");
    index = new CatalogIndex(catalog.source, catalog.kernelRelease, ids, (category, name) => {
      return byId.get(`${category}:${name}`) ?? null;
    });
    indexes.set(catalog, index);
  }
  return index;
}

/**
 * Reads a tracefs-style `events/` directory; formats are parsed on first lookup. The names
 * come from tracefs's `available_events` when it exists (one read, <1 ms, against ~40 ms
 * for walking 100 category directories); it also leaves out ftrace's internal events,
 * which cannot be attached to.
 */
export function readTracefsCatalog(
  eventsDir: string,
  source = `tracefs:${eventsDir}`,
): CatalogIndex {
  return new CatalogIndex(
    source,
    source.startsWith("tracefs:/sys") ? release() : undefined,
    listEvents(eventsDir),
    (category, name) => readFormat(category, `${eventsDir}/${category}/${name}/format`),
  );
}

/** One "category:name" per line. */
function listEvents(eventsDir: string): string {
  const available = join(eventsDir, "..", "available_events");
  if (existsSync(available)) return readFileSync(available, "utf8");
  const events: string[] = [];
  for (const category of readdirSync(eventsDir, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const event of readdirSync(join(eventsDir, category.name), { withFileTypes: true })) {
      if (event.isDirectory()) events.push(`${category.name}:${event.name}`);
    }
  }
  return events.join("\n");
}

function readFormat(category: string, path: string): Tracepoint | null {
  try {
    return parseFormat(category, readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

let bundled: CatalogIndex | undefined;

/** The snapshot generated by scripts/gen-catalog.ts from a real kernel. */
export function loadBundledCatalog(): CatalogIndex {
  bundled ??= readCatalogFile(BUNDLED_CATALOG.pathname, "bundled");
  return bundled;
}

/** A JSON Catalog, gzipped when the name ends in .gz. */
function readCatalogFile(path: string, sourcePrefix?: string): CatalogIndex {
  let catalog: Catalog;
  try {
    const bytes = readFileSync(path);
    const text = (path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
    catalog = JSON.parse(text) as Catalog;
  } catch (error) {
    throw new CatalogError(`cannot read catalog ${path}: ${(error as Error).message}`);
  }
  if (!Array.isArray(catalog?.tracepoints)) {
    throw new CatalogError(`${path} is not a catalog (expected a JSON object with "tracepoints")`);
  }
  const bad = catalog.tracepoints.findIndex((t) => !isTracepoint(t));
  if (bad >= 0) {
    throw new CatalogError(
      `${path}: tracepoints[${bad}] is not a tracepoint (category, name, id, fields with name, cType, offset, size, signed)`,
    );
  }
  const source = sourcePrefix
    ? `${sourcePrefix}:linux-${catalog.kernelRelease ?? "unknown"}`
    : path;
  return indexCatalog({ ...catalog, source });
}

function isTracepoint(t: Tracepoint): boolean {
  return (
    typeof t?.category === "string" &&
    typeof t.name === "string" &&
    typeof t.id === "number" &&
    Array.isArray(t.fields) &&
    t.fields.every(
      (f) =>
        typeof f?.name === "string" &&
        typeof f.cType === "string" &&
        typeof f.offset === "number" &&
        typeof f.size === "number" &&
        typeof f.signed === "boolean",
    )
  );
}

function liveEventsDir(): string | undefined {
  return TRACEFS_EVENT_DIRS.find((dir) => {
    try {
      return existsSync(join(dir, "sched")) && readdirSync(dir).length > 0;
    } catch {
      return false;
    }
  });
}

let defaultCatalog: CatalogIndex | undefined;

/**
 * `path` undefined: live tracefs when readable, else the bundled snapshot. "bundled": the
 * snapshot. A directory: a tracefs-style events tree (or its parent). A file: JSON (.gz ok).
 */
export function loadCatalog(options: { path?: string } = {}): CatalogIndex {
  const { path } = options;
  if (path === undefined) {
    if (!defaultCatalog) {
      const live = liveEventsDir();
      defaultCatalog = live ? readTracefsCatalog(live) : loadBundledCatalog();
    }
    return defaultCatalog;
  }
  if (path === "bundled") return loadBundledCatalog();
  if (!existsSync(path)) throw new CatalogError(`catalog ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    const events = existsSync(join(path, "events")) ? join(path, "events") : path;
    return readTracefsCatalog(events, `tracefs:${events}`);
  }
  return readCatalogFile(path);
}
