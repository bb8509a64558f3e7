// The checks every module of the VM test gets once its guest has run (insmod, reads, stop,
// stats, rmmod, latency sums), then its scenario's own; shared by the generic-kernel guest
// (run.ts) and the PREEMPT_RT guest (rt.ts). Also what the guest script prints about
// itself: the lines that give GuestFacts.

import type { TrackerPlan } from "../../src/compiler/plan.ts";
import { KernelSymbols } from "../../src/kernel/kallsyms.ts";
import { recordsPerHit } from "../../src/session/kmod-chain.ts";
import type { BuiltModule } from "./build.ts";
import { type ModuleRun, parseModuleRun } from "./console.ts";
import { latencySumProblems } from "./latency-sum.ts";
import type { GuestFacts, Scenario } from "./scenarios.ts";

export type Report = (ok: boolean, name: string, details?: string[]) => void;

/** Guest lines after the modules' scenarios: what guestFacts() reads back. */
export const FACTS_SCRIPT = [
  "grep virtio /proc/interrupts | sed 's/^ */@@ltsh irq /'",
  // The IRQ core's function and the one after it: enough to tell whether a stack frame
  // lies in it (Debian's System.map is a stub; the real one is in the -dbg package).
  'grep -A1 " __handle_irq_event_percpu$" /proc/kallsyms | sed "s/^/@@ltsh ksym /"',
  'dmesg | grep -E "BUG|WARNING|Oops|lt_" | sed "s/^/@@ltsh dmesg /"',
];

export function guestFacts(console: string): GuestFacts {
  const dev = /^@@ltsh vda-dev (\d+):(\d+)$/m.exec(console);
  const virtioIrqs = [...console.matchAll(/^@@ltsh irq\s+(\d+):.*virtio/gm)].map((m) =>
    Number(m[1]),
  );
  const ksyms = [...console.matchAll(/^@@ltsh ksym (.*)$/gm)].map((m) => m[1]);
  const symbols = ksyms.length === 2 ? KernelSymbols.parse(ksyms.join("\n")) : null;
  return {
    vdaDevt: dev ? Number(dev[1]) * 2 ** 20 + Number(dev[2]) : null,
    virtioIrqs,
    symbols,
  };
}

/** One module's run in a guest that went to power-off (or not: `completed`). */
export function checkModuleRun(
  boot: { console: string; completed: boolean },
  scenario: Scenario,
  module: BuiltModule,
  facts: GuestFacts,
  report: Report,
  prefix = "",
): void {
  const run = parseModuleRun(boot.console, module.name, module.plan.trackers);
  const hits = run.phases.reduce((n, p) => n + p.hits.length, 0);
  const records = run.phases.reduce((n, p) => n + p.records, 0);
  const problems: string[] = [];
  if (run.insmod !== 0) problems.push(`insmod exit ${run.insmod}`);
  if (run.rmmod !== 0) problems.push(`rmmod exit ${run.rmmod}`);
  if (run.phases.some((p) => p.undecodable > 0)) problems.push("undecodable hit records");
  const stats = run.stats[0];
  if (!stats || stats.tracker !== scenario.example)
    problems.push(`no stats line: ${run.statsText}`);
  else if (!allRead(run, module.plan.trackers)) {
    // Read after the stop: the counted hits and timeouts, less those lost to a full ring.
    problems.push(`${records} records read for ${statsLine(run)}`);
  }
  const stop = new RegExp(`^@@ltsh stop ${module.name} rc=(\\d+) (\\S*)`, "m").exec(boot.console);
  if (stop?.[1] !== "0" || stop[2] !== "Y")
    problems.push(`writing 1 to the stop parameter: ${stop?.[0] ?? "no report"}`);
  if (stats) {
    const paired = run.phases
      .flatMap((p) => p.hits)
      .filter((h) => h.kind === "threshold" && h.tracker === stats.tracker);
    problems.push(
      ...latencySumProblems(
        stats,
        paired.map((h) => h.latency_ns),
      ),
    );
  }
  if (boot.completed) problems.push(...scenario.check(run, facts, module.plan.trackers[0]));
  const cancelled = stats?.cancelled ? ` cancelled=${stats.cancelled}` : "";
  const summary = stats
    ? `${records} records read, pairs=${stats.pairs} hits=${stats.hits} timeouts=${stats.timeouts} dropped=${stats.dropped}${cancelled} sum_ns=${stats.sum_ns} within the histogram`
    : `${hits} hits`;
  const note = boot.completed && scenario.note ? `; ${scenario.note(run)}` : "";
  report(problems.length === 0, `${prefix}${module.name}: ${summary}${note}`, problems);
}

/** The module's trackers' lines (not a chain's segments): hits and timeouts counted. */
function counted(run: ModuleRun, trackers: TrackerPlan[]) {
  return run.stats.filter((s) => trackers.some((t) => t.name === s.tracker));
}

/**
 * Every hit counted was read, less those lost to a full ring (counted in dropped): in
 * records, one per hit, 1 + 3 per chain hit (kmod-runtime/lt_chain.h), 2 per hit with
 * captures (lt_tracker.h).
 */
function allRead(run: ModuleRun, trackers: TrackerPlan[]): boolean {
  const records = run.phases.reduce((n, p) => n + p.records, 0);
  const perHit = (name: string) => {
    const plan = trackers.find((t) => t.name === name);
    return plan ? recordsPerHit(plan) : 1;
  };
  const lines = counted(run, trackers);
  const total = lines.reduce((n, s) => n + (s.hits + s.timeouts) * perHit(s.tracker), 0);
  const lost = lines.reduce((n, s) => n + s.dropped * perHit(s.tracker), 0);
  return records <= total && records >= total - lost;
}

function statsLine(run: ModuleRun): string {
  return run.stats.map((s) => `${s.tracker}: ${s.hits} hits + ${s.timeouts} timeouts`).join(", ");
}
