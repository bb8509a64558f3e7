// test:vm's differential for plain trackers (chains have test/vm/chain.ts): the module of
// test/vm/programs/pairs.lt (the trackers of every example but the chains, every pair a hit,
// some with printed fields) runs while `ltwork sleep`, `disk` and `tcp` do, and a tracefs
// instance records the trackers' events in the same run. Replay of that recording is the
// reference: for each tracker, the pairs of the workloads' tasks (or all of them, for keys
// that are no task: an IRQ, a disk request, an skb) must be the module's, in order, with the
// same begin and end events, tasks, CPUs and printed fields, latencies within the chain
// differential's tolerance (the module reads its clock a moment after ftrace, and under TCG
// now and then much later). Only pairs shorter than SHORT_NS may be on one side alone.

import { compileFile } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { alignLists } from "../align-lists.ts";
import { dumpScript, latencyProblems, MAX_NS, overrunProblems, replayLines } from "./chain.ts";
import type { ModuleRun } from "./console.ts";
import type { Scenario } from "./scenarios.ts";

/** Replay's fewest pairs per tracker for the workloads below, all keys or the workloads' own. */
const LEAST: Record<string, number> = {
  pairs: 20,
  pairs_offcpu: 20,
  pairs_syscall: 60,
  pairs_irq: 10,
  pairs_block: 20,
  pairs_network: 10,
  pairs_ttfb: 5,
};
/** Trackers keyed by a task: only the workloads' tasks' pairs are compared. */
const BY_TASK = new Set(["pairs", "pairs_offcpu", "pairs_syscall", "pairs_ttfb"]);
const INSTANCE = "/sys/kernel/tracing/instances/ltsh_pairs";
export const PAIRS_PROGRAM = new URL("./programs/pairs.lt", import.meta.url).pathname;

const PLANS: TrackerPlan[] = (() => {
  const { plan } = compileFile(PAIRS_PROGRAM, { backend: "kmod" });
  if (!plan) throw new Error("test/vm/programs/pairs.lt does not compile for kmod");
  return plan.trackers;
})();

/** Every event the trackers read, as tracefs enable files. */
function eventPaths(plans: TrackerPlan[]): string[] {
  const ids = plans.flatMap((t) => [...t.begins, ...t.ends, ...(t.cancels ?? [])]);
  return [...new Set(ids.map((s) => s.probe.id))].map(
    (id) => `${INSTANCE}/events/${id.replace(":", "/")}/enable`,
  );
}

/**
 * A short run first, not recorded (the module's hit path translated by TCG); then the
 * recorded one. Every tracker is quieted before the reader runs: its own syscalls and
 * wakeups would be hits too.
 */
function recordScript(plans: TrackerPlan[]): string {
  const quiet = plans.map(
    (t) => `echo 0 > $P/${t.name}_threshold_ns; echo 0 > $P/${t.name}_timeout_ns`,
  );
  return [
    "ltwork sleep 3 1000 >/dev/null",
    `mkdir ${INSTANCE}`,
    `echo mono > ${INSTANCE}/trace_clock`,
    `echo 8192 > ${INSTANCE}/buffer_size_kb`,
    ...eventPaths(plans).map((p) => `echo 1 > ${p}`),
    `echo 1 > ${INSTANCE}/tracing_on`,
    "ltwork sleep 20 1000; ltwork disk /dev/vda 10; ltwork tcp 5",
    `echo 0 > ${INSTANCE}/tracing_on`,
    ...quiet,
  ].join("; ");
}

const endNs = (h: HitRecord) => h.end?.ts_ns ?? h.begin.ts_ns + BigInt(h.latency_ns);

/** What must be equal: the events, tasks and CPUs of both ends, the printed fields. */
const shapeOf = (h: HitRecord) =>
  `${h.tracker} ${h.begin.probe} ${h.begin.tid} cpu${h.begin.cpu} -> ` +
  `${h.end?.probe} ${h.end?.tid} cpu${h.end?.cpu} ` +
  JSON.stringify(h.fields ?? {}, (_, v) => (typeof v === "bigint" ? String(v) : v));

/**
 * The trace prints microseconds: a pair within one reads as 0 ns there (no hit, the threshold
 * being 1 ns) while the module measures a few hundred; the serial console's IRQ handler takes
 * about that long in the PREEMPT_RT guest. Pairs this short may be on one side only.
 */
const SHORT_NS = 10_000;
/** Two reports of one pair begin this close at most (the module's clock trails under TCG). */
const SAME_PAIR_NS = 2_000_000;

const describe = (h: HitRecord) => `${shapeOf(h)} @${h.begin.ts_ns} ${h.latency_ns} ns`;

/** Two reports of one pair: the same shape, begins within SAME_PAIR_NS (the closer, the cheaper). */
const matchCost = (a: HitRecord, b: HitRecord) => {
  const gap = Math.abs(Number(a.begin.ts_ns - b.begin.ts_ns));
  return shapeOf(a) === shapeOf(b) && gap < SAME_PAIR_NS
    ? (0.5 * gap) / SAME_PAIR_NS
    : Number.POSITIVE_INFINITY;
};

/** The differences from replay, and how many pairs of each tracker were compared. */
function comparePairs(
  run: ModuleRun,
  plans: TrackerPlan[],
): { problems: string[]; compared: Map<string, number> } {
  const compared = new Map<string, number>();
  const failed = (problems: string[]) => ({ problems, compared });
  const work = run.phases.find((p) => p.name === "work");
  if (!work) return failed(["no work phase"]);
  // every pid the workloads print (pid=, server_pid=)
  const pids = new Set(
    work.output.flatMap((l) => [...l.matchAll(/\b\w*pid=(\d+)/g)].map((m) => BigInt(m[1]))),
  );
  if (pids.size < 3)
    return failed([`the workloads' pids: ${[...pids]} (${work.output.join("; ")})`]);
  const problems = overrunProblems(run);
  for (const s of run.stats) {
    if (s.dropped > 0) problems.push(`${s.tracker}: ${s.dropped} dropped`);
  }
  const events = run.trace
    .map((l, i) => parseFtraceLine(l, i + 1))
    .filter((e) => e !== null && typeof e !== "string");
  if (events.length === 0) return failed([...problems, `no trace (${run.trace.length} lines)`]);
  const ns = (e: (typeof events)[number]) => BigInt(e!.sec) * 1_000_000_000n + BigInt(e!.nsec);
  const [from, to] = [ns(events[0]), ns(events[events.length - 1])];
  // the pairs compared, that the recording holds whole
  const ours = (hits: HitRecord[]) =>
    hits.filter(
      (h) =>
        h.kind === "threshold" &&
        (!BY_TASK.has(h.tracker) || pids.has(h.key[0] as bigint)) &&
        h.begin.ts_ns >= from &&
        endNs(h) <= to,
    );
  // the reader stops after 6 s: under TCG what it has not printed by then is read after the
  // stop (the "stopped" phase)
  const live = ours(run.phases.flatMap((p) => p.hits));
  const reference = ours(replayLines(plans, run.trace));
  const diffs: number[] = [];
  const outliers: string[] = [];
  const byBegin = (a: HitRecord, b: HitRecord) => Number(a.begin.ts_ns - b.begin.ts_ns);
  for (const plan of plans) {
    const got = live.filter((h) => h.tracker === plan.name).sort(byBegin);
    const want = reference.filter((h) => h.tracker === plan.name).sort(byBegin);
    if (want.length < LEAST[plan.name])
      problems.push(
        `${plan.name}: replay has ${want.length} pairs, fewer than ${LEAST[plan.name]}`,
      );
    const { matched, left, right } = alignLists(got, want, matchCost);
    compared.set(plan.name, matched.length);
    const unexplained = [
      ...left.filter((h) => h.latency_ns >= SHORT_NS).map((h) => `kmod only:   ${describe(h)}`),
      ...right.filter((h) => h.latency_ns >= SHORT_NS).map((h) => `replay only: ${describe(h)}`),
    ];
    if (unexplained.length > 0)
      problems.push(
        `${plan.name}: ${unexplained.length} pairs on one side only (${matched.length} matched):`,
        ...unexplained.slice(0, 4),
      );
    for (const [h, w] of matched) {
      const diff = Math.abs(h.latency_ns - w.latency_ns);
      diffs.push(diff);
      if (diff >= MAX_NS)
        outliers.push(`${shapeOf(h)}: ${h.latency_ns} ns, replay ${w.latency_ns} ns`);
    }
  }
  problems.push(...latencyProblems(diffs, outliers));
  return { problems: problems.slice(0, 12), compared };
}

/** One replay and comparison per guest run, for both the check and the report's line. */
const comparisons = new WeakMap<ModuleRun, ReturnType<typeof comparePairs>>();
function comparisonOf(run: ModuleRun) {
  let comparison = comparisons.get(run);
  if (comparison === undefined) {
    comparison = comparePairs(run, PLANS);
    comparisons.set(run, comparison);
  }
  return comparison;
}

export const PAIRS_SCENARIO: Scenario = {
  example: "pairs",
  program: true,
  insmodParams: "",
  printRecords: 4000,
  phases: [
    ["work", recordScript(PLANS)],
    ["trace", dumpScript(INSTANCE)],
  ],
  check: (run) => comparisonOf(run).problems,
  note: (run) =>
    `pairs compared with replay's: ${[...comparisonOf(run).compared]
      .map(([name, n]) => `${name} ${n}`)
      .join(", ")}`,
};
