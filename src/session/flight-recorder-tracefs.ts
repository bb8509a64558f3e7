// The few tracefs operations the flight recorder needs on its own instance: create it with a
// unique ltsh name, write its control files, resolve event names, and remove it synchronously
// (the removal also runs from exit handlers, where nothing asynchronous completes).

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export const DEFAULT_TRACEFS = "/sys/kernel/tracing";

/** Where tracefs is mounted; the fix is named when it is not. */
export function findTracefs(): string {
  for (const root of [DEFAULT_TRACEFS, "/sys/kernel/debug/tracing"]) {
    if (existsSync(join(root, "instances"))) return root;
  }
  throw new Error(
    "tracefs is not mounted: run `mount -t tracefs nodev /sys/kernel/tracing` (as root) for snapshots",
  );
}

/** Writes one control file; the error names the file and the value that was refused. */
export function writeControl(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`tracefs: writing "${value}" to ${join(dir, file)} failed (${code})`);
  }
}

/**
 * Creates `instances/ltsh-<pid>-<purpose>`; when this process already holds one with that
 * purpose (two sessions at once in the shell), a numbered purpose is used instead.
 */
export function createInstance(root: string, purpose: string): { name: string; dir: string } {
  for (let n = 1; ; n++) {
    const name = `ltsh-${process.pid}-${n === 1 ? purpose : `${purpose}${n}`}`;
    const dir = join(root, "instances", name);
    try {
      mkdirSync(dir);
      return { name, dir };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" || n > 50) {
        throw new Error(`tracefs: cannot create instance ${dir} (${code ?? "error"})`);
      }
    }
  }
}

/** Removes an instance; true when it is gone (already absent counts). Safe in exit handlers. */
export function removeInstanceSync(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/**
 * "category:name" for each requested event: names given bare ("sched_switch") are looked up
 * in available_events; unknown ones are returned apart so the caller can warn once.
 */
export function resolveEvents(
  root: string,
  requested: readonly string[],
): { events: string[]; unknown: string[] } {
  const available = readFileSync(join(root, "available_events"), "utf8").split("\n");
  const byName = new Map<string, string>();
  const full = new Set<string>();
  for (const id of available) {
    if (id === "") continue;
    full.add(id);
    const name = id.slice(id.indexOf(":") + 1);
    if (!byName.has(name)) byName.set(name, id);
  }
  const events: string[] = [];
  const unknown: string[] = [];
  for (const wanted of requested) {
    const id = wanted.includes(":") ? (full.has(wanted) ? wanted : undefined) : byName.get(wanted);
    if (id === undefined) unknown.push(wanted);
    else if (!events.includes(id)) events.push(id);
  }
  return { events, unknown };
}

/** Enables "category:name" in the instance. */
export function enableEvent(instanceDir: string, id: string): void {
  const [category, name] = id.split(":") as [string, string];
  writeControl(join(instanceDir, "events", category, name), "enable", "1");
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else; only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Removes `ltsh-<pid>-*` instances whose process is gone (left by a crash or SIGKILL). */
export function removeStaleInstances(root: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(root, "instances"));
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = /^ltsh-(\d+)-/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    if (removeInstanceSync(join(root, "instances", name))) removed.push(name);
  }
  return removed;
}
