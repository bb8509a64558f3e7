// Shared by the user-space probe cleanup suites: the workload in serve mode, what the kernel
// holds (uprobe_events entries, loaded programs), and waiting for a condition.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
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

const LTSH_JS = new URL("../../bin/ltsh.js", import.meta.url).pathname;

/**
 * `ltsh record --for-file FILE -o TRACE`, returned once it is recording (its tracefs instance
 * and its uprobe_events entries exist); `stop()` ends it with SIGINT and gives its exit code.
 */
export async function startForFileRecorder(file: string, tracePath: string) {
  const recorder = spawn(
    process.execPath,
    [LTSH_JS, "record", "-o", tracePath, "--for-file", file, "--for", "2m"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LTSH_NO_BUNDLE: "1" } },
  );
  let stderr = "";
  recorder.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => recorder.on("exit", (c) => resolve(c)));
  const instance = join(tracefsRoot(), "instances", `ltsh-${recorder.pid}-record`);
  const ready = () => existsSync(instance) && uprobeEvents().includes(`ltsh_${recorder.pid}/`);
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ready()) {
    recorder.kill("SIGKILL");
    throw new Error(`the recorder did not start: ${stderr}`);
  }
  await new Promise((r) => setTimeout(r, 300)); // the events are enabled right after the instance
  return {
    pid: recorder.pid!,
    stderr: () => stderr,
    stop: () => {
      recorder.kill("SIGINT");
      return exited;
    },
    /** After a failed test: still running, killed. */
    kill: () => {
      if (recorder.exitCode === null) recorder.kill("SIGKILL");
    },
  };
}
