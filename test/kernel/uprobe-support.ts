// Shared by the user-space probe cleanup suites: the workload in serve mode, what the kernel
// holds (uprobe_events entries, loaded programs), and waiting for a condition.

import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tracefsRoot } from "./support.ts";

/** The workload in serve mode: each batch says whether the semaphore is raised. */
export function serve(path: string) {
  const child = spawn(path, ["serve"]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value ?? "");
  /** Resolves with the workload's `ready pid=…` line. */
  const ready = next();
  return {
    ready,
    async enabled(): Promise<boolean> {
      child.stdin.write("1\n");
      return (await next()).includes(" enabled=1");
    },
    close: () => child.kill(),
  };
}

export const uprobeEvents = () => readFileSync(join(tracefsRoot(), "uprobe_events"), "utf8");
export const loaded = () =>
  spawnSync("bpftool", ["prog", "show"], { encoding: "utf8" }).stdout ?? "";

/** Whether `condition` holds within about five seconds. */
export async function until(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
