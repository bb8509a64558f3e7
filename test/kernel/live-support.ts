// Shared by the live-backend kernel suites: compile .lt text against this kernel's tracefs,
// run a LiveSession around a workload, count this process's BPF objects, spawn workloads.

import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../../src/compiler/compile.ts";
import type { ProgramPlan } from "../../src/compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { LiveSession } from "../../src/session/live.ts";

export function compileText(text: string, file = "test.lt"): ProgramPlan {
  const { plan, diagnostics } = compileSource(text, file);
  if (!plan) throw new Error(`does not compile:\n${diagnostics.map((d) => d.message).join("\n")}`);
  return plan;
}

export interface LiveRun {
  hits: HitRecord[];
  warnings: string[];
  summaries: SummaryRecord[];
}

/** Runs every tracker of `plan` live while `workload` runs, then closes the session. */
export async function runLive(plan: ProgramPlan, workload: () => Promise<void>): Promise<LiveRun> {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    await workload();
  } catch (error) {
    await session.close();
    throw error;
  }
  return { hits, warnings, summaries: await session.close() };
}

/** This process's open BPF objects, by kind ("bpf-prog", "bpf-map", "perf_event"). */
export function openBpfFds(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^anon_inode:\[?([a-z_-]+)/.exec(target);
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

/** Runs a command to completion; resolves with its pid. */
export function run(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(child.pid!) : reject(new Error(`${argv[0]} exited ${code}`)),
    );
  });
}

/** A copy of a program named so its comm is distinctive; removed by the returned cleanup. */
export function namedCopy(program: string, name: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-live-"));
  const path = join(dir, name);
  copyFileSync(program, path);
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function namedSleep(name: string): { path: string; remove: () => void } {
  return namedCopy("/bin/sleep", name);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
