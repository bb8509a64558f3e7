// What the two on-disk caches share (compiled live programs, compiled-cache.ts; built kernel
// modules, kmod-host.ts): marking an entry used, and keeping only the most recently used
// ones, without the half-written leftovers of runs that were killed.

import { readdirSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "../kernel/cleanup.ts";

/** Marks an entry as used now: pruneCache() keeps the most recently used. */
export function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // A read-only cache still serves hits.
  }
}

/**
 * Removes `NAME.<pid>.tmp` (written by a process that died before renaming it into place),
 * then all but the `keep` most recently used entries (files or directories) that `isEntry`
 * names.
 */
export function pruneCache(dir: string, keep: number, isEntry: (name: string) => boolean): void {
  const names = readdirSync(dir);
  for (const name of names) {
    const owner = /\.(\d+)\.tmp$/.exec(name);
    if (owner && !processAlive(Number(owner[1])))
      rmSync(join(dir, name), { recursive: true, force: true });
  }
  const entries = names
    .filter(isEntry)
    .map((name) => ({ path: join(dir, name), used: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const old of entries.slice(keep)) rmSync(old.path, { recursive: true, force: true });
}
