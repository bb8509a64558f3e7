// Test helper: an `ltsh` child process serving metrics (the URL read from its stderr), its
// output collected, and a scrape of it over HTTP.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export const BIN = new URL("../../bin/ltsh.js", import.meta.url).pathname;
export const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

export interface LtshChild {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /** Resolves with the metrics URL once the child prints it (rejects if it exits first). */
  metricsUrl(): Promise<string>;
  /** Resolves once stderr has matched `pattern` (rejects on exit or after timeoutMs). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL if still running, then waits for the exit. */
  kill(): Promise<void>;
}

/** `ltsh ARGS` through bin/ltsh.js, or `command` with `commandArgs` when given (setpriv, ...). */
export function startLtsh(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  command = process.execPath,
  commandArgs = [BIN, ...args],
): LtshChild {
  const child = spawn(command, commandArgs, {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d) => (output.stdout += d));
  child.stderr!.on("data", (d) => (output.stderr += d));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  async function waitForStderr(pattern: RegExp, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(output.stderr);
      if (m) return m;
      if (exitCode !== undefined || Date.now() > deadline) {
        throw new Error(`no ${pattern} from ltsh (exit ${exitCode}); stderr:\n${output.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    child,
    output,
    exited,
    waitForStderr,
    metricsUrl: async () => (await waitForStderr(/serving metrics at (\S+)/))[1],
    async kill() {
      if (exitCode === undefined) child.kill("SIGKILL");
      await exited;
    },
  };
}

export async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

/** Ids of the BPF programs a process holds open (its fdinfo says prog_id). */
export function programsOf(pid: number): number[] {
  const ids: number[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== "anon_inode:bpf-prog") continue;
        const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
        if (m) ids.push(Number(m[1]));
      } catch {
        // the fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  return ids;
}

/** Every BPF program loaded in the kernel now: id → name. */
export function loadedPrograms(): Map<number, string> {
  const programs = JSON.parse(
    execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }),
  );
  return new Map(programs.map((p: { id: number; name?: string }) => [p.id, p.name ?? ""]));
}

/** The ids of the programs `pid` holds for `tracker` (named ltsh_<tracker>_b0, _e0, ...). */
export function trackerPrograms(pid: number, tracker: string): number[] {
  const loaded = loadedPrograms();
  return programsOf(pid)
    .filter((id) => loaded.get(id)?.startsWith(`ltsh_${tracker}_`))
    .sort((a, b) => a - b);
}
