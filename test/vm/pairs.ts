// test:vm's differential for plain trackers (chains have test/vm/chain.ts): the module of
// test/vm/programs/pairs.lt (the trackers of every example but the chains, every pair a hit,
// some with printed fields) runs while `ltwork sleep`, `disk` and `tcp` do, and a tracefs
// instance records the trackers' events in the same run. Replay of that recording is the
// reference: for each tracker, the pairs of the workloads' tasks (or all of them, for keys
// that are no task: an IRQ, a disk request, an skb) must be the module's, in order, with the
// same begin and end events, tasks, CPUs and printed fields, latencies within the chain
// differential's tolerance (the module reads its clock a moment after ftrace, and under TCG
// now and then much later). Only pairs shorter than SHORT_NS may be on one side alone, and
// replay's of a task before its execve (its name in the trace is the one it took then).

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
  JSON.stringify(h.fields ?? {}, (_, v) =>
    typeof v === "bigint" || typeof v === "number" ? String(v) : v,
  );

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

/** What a backend's run gave, against what its recording replays to. */
export interface PairsEvidence {
  /** "kmod", "eBPF": how a pair on that side only is named. */
  side: string;
  hits: HitRecord[];
  /** The recording, tracefs or `ltsh record` text lines. */
  trace: string[];
  /** The workloads' output: every pid they print (pid=, server_pid=). */
  workOutput: string[];
  /** Problems found before the comparison (an overrun recording, dropped begins). */
  problems: string[];
  /** Per tracker, the span its live run covered whole (else: the recording's). */
  window?: (tracker: string) => [bigint, bigint] | undefined;
  /**
   * Pairs on one side only forgiven: 2 per run of a program the kernel missed, or a few
   * where the kernel does not count those (ebpf-pairs.ts).
   */
  forgiven?: number;
}

export type PairsComparison = {
  problems: string[];
  compared: Map<string, number>;
  /** Pairs on one side only (longer than SHORT_NS, not explained), forgiven or not. */
  oneSided: number;
};

/** The differences from replay, and how many pairs of each tracker were compared. */
export function comparePairs(e: PairsEvidence, plans: TrackerPlan[] = PLANS): PairsComparison {
  const compared = new Map<string, number>();
  const failed = (problems: string[]) => ({ problems, compared, oneSided: 0 });
  const pids = new Set(
    e.workOutput.flatMap((l) => [...l.matchAll(/\b\w*pid=(\d+)/g)].map((m) => BigInt(m[1]))),
  );
  if (pids.size < 3)
    return failed([`the workloads' pids: ${[...pids]} (${e.workOutput.slice(0, 5).join("; ")})`]);
  const problems = [...e.problems];
  const events = e.trace
    .map((l, i) => parseFtraceLine(l, i + 1))
    .filter((ev) => ev !== null && typeof ev !== "string");
  if (events.length === 0) return failed([...problems, `no trace (${e.trace.length} lines)`]);
  const ns = (ev: (typeof events)[number]) => BigInt(ev!.sec) * 1_000_000_000n + BigInt(ev!.nsec);
  const recorded: [bigint, bigint] = [ns(events[0]), ns(events[events.length - 1])];
  // the pairs compared: the workloads', that the recording (and the live run) holds whole
  const ours = (hits: HitRecord[], tracker: string) => {
    const [from, to] = e.window?.(tracker) ?? recorded;
    return hits.filter(
      (h) =>
        h.tracker === tracker &&
        h.kind === "threshold" &&
        (!BY_TASK.has(h.tracker) || pids.has(h.key[0] as bigint)) &&
        h.begin.ts_ns >= from &&
        h.begin.ts_ns >= recorded[0] &&
        endNs(h) <= to &&
        endNs(h) <= recorded[1],
    );
  };
  // a trace names a task as it was named when read (grammar/README): the shell's child that
  // execs ltwork is "ltwork" there from its fork, so replay's `comm` filters pass its
  // syscalls before its execve is over (sys_exit NR 59), which the kernel saw as "sh"'s
  const execEnd = new Map<number, bigint>();
  for (const ev of events) {
    if (ev!.name === "sys_exit" && ev!.payload.startsWith("NR 59 ")) execEnd.set(ev!.tid, ns(ev));
  }
  const beforeExec = (h: HitRecord) => h.begin.ts_ns <= (execEnd.get(h.begin.tid) ?? -1n);
  const reference = replayLines(plans, e.trace);
  const diffs: number[] = [];
  const outliers: string[] = [];
  const oneSided: string[] = [];
  let unmatched = 0;
  const byBegin = (a: HitRecord, b: HitRecord) => Number(a.begin.ts_ns - b.begin.ts_ns);
  for (const plan of plans) {
    const got = ours(e.hits, plan.name).sort(byBegin);
    const want = ours(reference, plan.name).sort(byBegin);
    if (want.length < LEAST[plan.name])
      problems.push(
        `${plan.name}: replay has ${want.length} pairs, fewer than ${LEAST[plan.name]}`,
      );
    const { matched, left, right } = alignLists(got, want, matchCost);
    compared.set(plan.name, matched.length);
    const side = `${e.side} only:`.padEnd(12);
    const unexplained = [
      ...left.filter((h) => h.latency_ns >= SHORT_NS).map((h) => `${side} ${describe(h)}`),
      ...right
        .filter((h) => h.latency_ns >= SHORT_NS && !beforeExec(h))
        .map((h) => `replay only: ${describe(h)}`),
    ];
    unmatched += unexplained.length;
    if (unexplained.length > 0)
      oneSided.push(
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
  if (unmatched > (e.forgiven ?? 0)) problems.push(...oneSided);
  problems.push(...latencyProblems(diffs, outliers));
  return { problems: problems.slice(0, 12), compared, oneSided: unmatched };
}

/** The module's run as evidence: its hits, the instance's recording, its counters. */
function moduleEvidence(run: ModuleRun): PairsEvidence | string {
  const work = run.phases.find((p) => p.name === "work");
  if (!work) return "no work phase";
  const problems = overrunProblems(run);
  for (const s of run.stats) {
    if (s.dropped > 0) problems.push(`${s.tracker}: ${s.dropped} dropped`);
  }
  // the reader stops after 6 s: under TCG what it has not printed by then is read after the
  // stop (the "stopped" phase)
  const hits = run.phases.flatMap((p) => p.hits);
  return { side: "kmod", hits, trace: run.trace, workOutput: work.output, problems };
}

/** One replay and comparison per guest run, for both the check and the report's line. */
const comparisons = new WeakMap<ModuleRun, PairsComparison>();
function comparisonOf(run: ModuleRun) {
  let comparison = comparisons.get(run);
  if (comparison === undefined) {
    const evidence = moduleEvidence(run);
    comparison =
      typeof evidence === "string"
        ? { problems: [evidence], compared: new Map(), oneSided: 0 }
        : comparePairs(evidence);
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
