// Test helpers for replay: compile .lt text against the bundled catalog, build ftrace lines,
// and run an interpreter over them collecting hits and warnings.

import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import type { FilePlan, TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";

export function compileProgram(source: string): FilePlan {
  const { plan, diagnostics } = compileSource(source, "test.lt", {
    catalog: loadBundledCatalog(),
    backend: "replay",
  });
  if (!plan)
    throw new Error(
      diagnostics.map((d) => `${d.range.line}:${d.range.col} ${d.message}`).join("\n"),
    );
  return plan;
}

export function compileTrackers(source: string): TrackerPlan[] {
  return compileProgram(source).trackers;
}

/**
 * One tracefs line; `ts` is "secs.frac" as printed (6 or 9 digits). Task is "comm-tid" with
 * an optional tgid.
 */
export function ftrace(
  ts: string,
  cpu: number,
  task: string,
  event: string,
  payload: string,
  tgid?: number,
) {
  return ftraceRaw(ts, cpu, task, `${event}: ${payload}`, tgid);
}

/** A line whose text after the timestamp is given verbatim (the syscall tracer's shapes). */
export function ftraceRaw(ts: string, cpu: number, task: string, rest: string, tgid?: number) {
  const tgidColumn = tgid === undefined ? "" : `(${String(tgid).padStart(7)}) `;
  return `${task.padStart(16)} ${tgidColumn}[${String(cpu).padStart(3, "0")}] d..2. ${ts.padStart(12)}: ${rest}`;
}

export const wakeup = (ts: string, pid: number, cpu = 0) =>
  ftrace(
    ts,
    cpu,
    "waker-1",
    "sched_wakeup",
    `comm=task${pid} pid=${pid} prio=120 target_cpu=00${cpu}`,
  );

export const switchTo = (ts: string, nextPid: number, cpu = 0, prevPid = 1, prevState = "S") =>
  ftrace(
    ts,
    cpu,
    `prev-${prevPid}`,
    "sched_switch",
    `prev_comm=prev prev_pid=${prevPid} prev_prio=120 prev_state=${prevState} ==> next_comm=task${nextPid} next_pid=${nextPid} next_prio=120`,
  );

export interface RunResult {
  hits: HitRecord[];
  warnings: string[];
  summaries: SummaryRecord[];
  malformedEvents: number;
}

export async function runLines(trackers: TrackerPlan[], lines: string[]): Promise<RunResult> {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const interpreter = new Interpreter({
    hit: (h) => hits.push(h),
    warning: (w) => warnings.push(w),
  });
  for (const t of trackers) interpreter.add(t);
  lines.forEach((line, i) => {
    const event = parseFtraceLine(line, i + 1);
    if (typeof event === "string") throw new Error(`line ${i + 1}: ${event}: ${line}`);
    if (event !== null) interpreter.feed(event);
  });
  interpreter.finish("test.txt");
  return {
    hits,
    warnings,
    summaries: interpreter.summaries(),
    malformedEvents: interpreter.malformedEvents,
  };
}
