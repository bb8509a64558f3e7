// Whether a process still runs, for the demo tests. A killed process whose parent has died
// stays a zombie until init reaps it, and some inits here are slow to: a zombie has ended.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** "R", "S", "Z", ... or null when the process is gone. */
function state(pid: number | string): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];
  } catch {
    return null;
  }
}

export function running(pid: number | string): boolean {
  const s = state(pid);
  return s !== null && s !== "Z";
}

/** Pids of running (not zombie) processes named exactly `name`. */
export function runningNamed(name: string): number[] {
  const out = spawnSync("pgrep", ["-x", name], { encoding: "utf8" }).stdout ?? "";
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map(Number)
    .filter(running);
}
