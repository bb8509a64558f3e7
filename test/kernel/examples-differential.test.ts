// The differential on the shared corpus: every example of examples/ runs live (eBPF) while a
// tracefs instance records the events it needs; the recording is then replayed with the same
// trackers by the reference interpreter, and both must report the same pairs (a `cancel`
// that one backend applied and the other did not shows as a pair on one side only).
//
// So that every pair is comparable, each tracker's threshold is lowered to 1 ns (every pair
// is a hit, with its key, tasks and CPUs). Pairs are compared within a window both backends
// watched whole, [A, B], key by key and in order: same begin and end task and CPU, times
// within TIME_SLACK_NS. Unmatched pairs are tolerated only near the window's edges, when
// shorter than SHORT_NS (the trace prints microseconds: a pair within one may read as 0 ns,
// no hit), or as many as the runs the kernel says it skipped (`missed`) can change.
// Scheduler examples are compared on the workload's own task, pinned to CPU 0: this
// kernel's ftrace does not record switches away from the idle task on CPU 1 (BPF sees them).
// Matched pairs must also carry the same fields of the `then print(...)` that PRINTS adds to
// some trackers, and name the key's task alike (key_comm) where the trace's comm column
// agrees with live: ftrace prints a task's latest name there, not its name at the event.
//
// On this machine the kernel runs no BPF program (tracepoint or raw tracepoint, ours or
// bpftrace's) for an event that ftrace records in the context of PID 1's threads (the VM's
// agent, tokio-rt-worker): over 20 rounds of dd, each program's bpf_stats run count was
// the trace's block_rq_complete lines less those in that context, exactly, and
// recursion_misses stayed 0 (src/compiler/bpf/README.md, "Known difference from replay").
// Those events are counted from the recording, and each may change two pairs, like a miss.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkPrintFields } from "../../src/compiler/captures.ts";
import { loadCatalog } from "../../src/compiler/catalog/index.ts";
import type { FilePlan, TrackerPlan } from "../../src/compiler/plan.ts";
import { TracefsInstance } from "../../src/kernel/tracefs.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { alignLists } from "../align-lists.ts";
import { exampleFiles, examplePlan } from "../corpus.ts";
import { namedCopy, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

/**
 * ftrace and BPF stamp one event microseconds apart (the trace prints microseconds), and
 * further apart when the virtual CPU is descheduled between the two handlers.
 */
const TIME_SLACK_NS = 100_000n;
const SHORT_NS = 5_000;

/** What makes each example's events, and which of its pairs are ours to compare. */
interface Workload {
  /** Resolves with the workload process's pid. */
  run(): Promise<number>;

  /** Pairs of the workload's own task only (scheduler trackers), or every pair. */
  ours?: (hit: HitRecord, pid: number) => boolean;
}

const monoNow = () => process.hrtime.bigint();

function pinned(argv: string[]): Promise<number> {
  return run(["taskset", "-c", "0", ...argv]);
}

/** A perl copy named `name` (its comm), removed afterwards. */
async function withPerl(name: string, script: string): Promise<number> {
  const perl = namedCopy("/usr/bin/perl", name);
  try {
    return await pinned([perl.path, "-e", script]);
  } finally {
    perl.remove();
  }
}

/** The key is the workload's pid (the task woken, switched out and in, ...). */
const keyedByPid = (hit: HitRecord, pid: number) => hit.key[0] === BigInt(pid);

const NAP = "select(undef, undef, undef, 0.003) for 1..40;";
const SERVER = `
use IO::Socket::INET;
my $s = IO::Socket::INET->new(Listen => 5, LocalAddr => "127.0.0.1:0", ReuseAddr => 1) or die;
my $port = $s->sockport;
if (fork() == 0) {
  for (1..8) { my $c = IO::Socket::INET->new("127.0.0.1:$port") or die; my $l = <$c>; close $c; }
  exit 0;
}
for (1..8) { my $c = $s->accept; select(undef, undef, undef, 0.002); syswrite($c, "hello\\n"); close $c; }
wait;`;

const WORKLOADS: Record<string, Workload> = {
  syscall: {
    run: () => withPerl("ltsh_dsys", NAP),
    ours: keyedByPid,
  },
  wakeup: {
    run: () => withPerl("ltsh_dwake", NAP),
    ours: keyedByPid,
  },
  offcpu: {
    run: () => withPerl("ltsh_doff", NAP),
    ours: keyedByPid,
  },
  ttfb: {
    run: () => withPerl("ltsh_dttfb", SERVER),
    ours: keyedByPid,
  },
  network: { run: () => withPerl("ltsh_dnet", SERVER) },
  block: {
    // dd's own requests, issued in its context (O_DIRECT | O_DSYNC writes, one at a time):
    // other processes' I/O at the window's edges is no part of the comparison
    ours: (hit, pid) => hit.begin.tid === pid,
    run: async () => {
      const dir = mkdtempSync(join(tmpdir(), "ltsh-diff-block-"));
      try {
        const out = `of=${join(dir, "data")}`;
        return await pinned([
          "dd",
          "if=/dev/zero",
          out,
          "bs=64k",
          "count=64",
          "oflag=direct,dsync",
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  irq: { run: () => withPerl("ltsh_dirq", NAP) },
};

/** `then print(...)` fields added to trackers of the examples, compared like the rest. */
const PRINTS: Record<string, string[]> = {
  syscall: ["id", "ret"],
  offcpu: ["prev_state", "end.next_prio", "prev_comm"],
  wakeup: ["prio", "target_cpu", "prev_state"],
};

/** The tracker with PRINTS' fields captured, as the checker makes them from `print(...)`. */
function withPrints(tracker: TrackerPlan): TrackerPlan {
  const names = PRINTS[tracker.name];
  if (!names) return tracker;
  const context = { catalog: loadCatalog(), userProbes: null, diagnostics: [] };
  const fields = names.map((written) => {
    const [side, name] = written.includes(".") ? written.split(".") : [null, written];
    const chosen = side === null ? null : { name: side, range: tracker.range };
    return { name, side: chosen, range: tracker.range };
  });
  const prints = checkPrintFields(fields, tracker.begins, tracker.ends, context);
  assert.equal(context.diagnostics, [], `print(${names.join(", ")}) checks on ${tracker.name}`);
  return { ...tracker, captures: [...(tracker.captures ?? []), ...prints] };
}

/** Every pair a hit, so that each one can be matched; a ring buffer that holds them all. */
function everyPair(plan: FilePlan): FilePlan {
  return {
    ...plan,
    options: { ...plan.options, "ringbuf.size": 64 << 20 },
    trackers: plan.trackers.map((t) => withPrints({ ...t, thresholdNs: 1 })),
  };
}

async function replay(path: string, plan: FilePlan) {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = await openSession("replay", {
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
    replay: { path },
  });
  for (const t of plan.trackers) await session.add(t);
  await session.done?.();
  await session.close();
  return { hits, warnings };
}

const endNs = (hit: HitRecord) => hit.end?.ts_ns ?? hit.begin.ts_ns + BigInt(hit.latency_ns);

const gap = (x: bigint, y: bigint) => (x > y ? x - y : y - x);

/** What a hit names beyond its contexts: the key's task, the printed fields. */
const namesOf = (hit: HitRecord) =>
  JSON.stringify([hit.key_comm, hit.fields, hit.fields_text], (_, v) =>
    typeof v === "bigint" ? String(v) : v,
  );

/** Same fields; the same key_comm too when both sides saw the tasks by the same names. */
function sameNames(a: HitRecord, b: HitRecord): boolean {
  const sameComms = a.begin.comm === b.begin.comm && a.end?.comm === b.end?.comm;
  return sameComms
    ? namesOf(a) === namesOf(b)
    : namesOf({ ...a, key_comm: b.key_comm }) === namesOf(b);
}

/** Two reports of one pair: same key, tasks, CPUs and names, both events within the slack. */
function samePair(a: HitRecord, b: HitRecord): boolean {
  return (
    sameNames(a, b) &&
    a.begin.tid === b.begin.tid &&
    a.begin.cpu === b.begin.cpu &&
    a.end?.tid === b.end?.tid &&
    a.end?.cpu === b.end?.cpu &&
    gap(a.begin.ts_ns, b.begin.ts_ns) < TIME_SLACK_NS &&
    gap(endNs(a), endNs(b)) < TIME_SLACK_NS
  );
}

const keyOf = (hit: HitRecord) => `${hit.tracker} ${hit.key.map(String).join()}`;

/**
 * The pairs each side reports and the other lacks. A key's pairs follow one another in
 * time, so they are aligned in order, key by key, as an edit distance: a pair left without
 * a counterpart costs 1, a match its time gap as a fraction of the slack. A task's syscalls
 * come microseconds apart, closer than the slack: matching by time alone pairs neighbours.
 */
function align(live: HitRecord[], replayed: HitRecord[]) {
  const byKey = (hits: HitRecord[]) => {
    const map = new Map<string, HitRecord[]>();
    for (const hit of hits) map.set(keyOf(hit), [...(map.get(keyOf(hit)) ?? []), hit]);
    for (const list of map.values()) list.sort((x, y) => Number(x.begin.ts_ns - y.begin.ts_ns));
    return map;
  };
  const ours = byKey(live);
  const theirs = byKey(replayed);
  const missing: HitRecord[] = [];
  const extra: HitRecord[] = [];
  for (const key of new Set([...ours.keys(), ...theirs.keys()])) {
    const x = ours.get(key) ?? [];
    const y = theirs.get(key) ?? [];
    const { left, right } = alignLists(x, y, matchCost);
    missing.push(...left);
    extra.push(...right);
  }
  return { missing, extra };
}

/** Two reports of one pair cost their time gap as a fraction of the slack; others can't match. */
const matchCost = (a: HitRecord, b: HitRecord) =>
  samePair(a, b)
    ? Number(gap(a.begin.ts_ns, b.begin.ts_ns) + gap(endNs(a), endNs(b))) /
      Number(4n * TIME_SLACK_NS)
    : Number.POSITIVE_INFINITY;

/** Unmatched, and not explained by the window's edges or the trace's microseconds. */
function unexplained(hits: HitRecord[], a: bigint, b: bigint): HitRecord[] {
  return hits.filter((hit) => {
    const nearEdge = hit.begin.ts_ns - a < TIME_SLACK_NS || b - endNs(hit) < TIME_SLACK_NS;
    return !nearEdge && hit.latency_ns >= SHORT_NS;
  });
}

/** Tasks of PID 1 (the VM's agent, whose contexts BPF programs never see here). */
function inPid1(tid: number, cache: Map<number, boolean>): boolean {
  if (tid <= 1) return tid === 1;
  let hit = cache.get(tid);
  if (hit === undefined) {
    try {
      hit = /^Tgid:\s+1$/m.test(readFileSync(`/proc/${tid}/status`, "utf8"));
    } catch {
      hit = false; // gone: not one of the agent's long-lived threads
    }
    cache.set(tid, hit);
  }
  return hit;
}

/** The recording's events in the context of PID 1's tasks. */
function eventsInPid1(trace: string): number {
  const cache = new Map<number, boolean>();
  let count = 0;
  for (const line of trace.split("\n")) {
    const m = /^\s*.+-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]/.exec(line);
    if (m && inPid1(Number(m[1]), cache)) count++;
  }
  return count;
}

const describe = (hit: HitRecord) =>
  `${hit.tracker} key=${hit.key.join(",")} ${hit.latency_ns}ns ${hit.begin.comm}-${hit.begin.tid}` +
  ` cpu${hit.begin.cpu} @${hit.begin.ts_ns} -> ${hit.end?.comm}-${hit.end?.tid} cpu${hit.end?.cpu}` +
  ` ${namesOf(hit)}`;

for (const file of exampleFiles().filter(
  (f) => !process.env.LTSH_DIFF_ONLY || f === process.env.LTSH_DIFF_ONLY,
)) {
  const name = file.replace(/\.lt$/, "");
  const workload = WORKLOADS[name];
  test(`examples/${file}: live and replay of the same events report the same pairs`, async () => {
    assert.ok(workload, `a workload for examples/${file} (add one to WORKLOADS)`);
    const plan = everyPair(examplePlan(file));
    // every event a tracker reads, its cancels' too (wakeup.lt forgets on sched_switch)
    const probes = plan.trackers.flatMap((t) =>
      [...t.begins, ...t.ends, ...(t.cancels ?? [])].map((s) => s.probe.id),
    );
    const dir = mkdtempSync(join(tmpdir(), "ltsh-diff-"));
    const recording = TracefsInstance.create({
      purpose: "diff",
      bufferKiB: 131072,
      overwrite: false,
    });
    try {
      recording.enableEvents(recording.resolveEvents([...new Set(probes)]).events);
      let a = 0n;
      let b = 0n;
      let pid = 0;
      // Recording only while the programs are attached: a busy machine's syscalls of a few
      // seconds of set-up could overflow the buffer.
      const live = await runLive(plan, async () => {
        recording.resume();
        await sleep(20);
        a = monoNow();
        pid = await workload.run();
        await sleep(20);
        b = monoNow();
        recording.freeze();
      });
      assert.is(recording.bufferStats().dropped, 0, "the recording kept every event");
      for (const s of live.summaries) assert.is(s.dropped, 0, `${s.tracker}: live kept every hit`);
      const tracePath = join(dir, "trace.txt");
      const trace = recording.readTrace();
      writeFileSync(tracePath, trace);
      const reference = await replay(tracePath, plan);
      // to look at a failure: LTSH_KEEP_TRACE=DIR keeps each example's recording there
      if (process.env.LTSH_KEEP_TRACE) {
        writeFileSync(join(process.env.LTSH_KEEP_TRACE, `${name}.txt`), readFileSync(tracePath));
        const lines = live.hits.map((h) =>
          JSON.stringify(h, (_, v) => (typeof v === "bigint" ? String(v) : v)),
        );
        writeFileSync(join(process.env.LTSH_KEEP_TRACE, `${name}.live.ndjson`), lines.join("\n"));
      }
      const inWindow = (hits: HitRecord[]) =>
        hits.filter(
          (h) =>
            h.kind === "threshold" &&
            h.begin.ts_ns >= a &&
            endNs(h) <= b &&
            (workload.ours?.(h, pid) ?? true),
        );
      const liveHits = inWindow(live.hits);
      const replayHits = inWindow(reference.hits);
      assert.ok(liveHits.length > 0, `the workload made ${name} pairs live`);
      const aligned = align(liveHits, replayHits);
      const missing = unexplained(aligned.missing, a, b);
      const extra = unexplained(aligned.extra, a, b);
      // One event the programs never saw changes at most the two pairs it belongs to.
      const missed = live.summaries.reduce((sum, s) => sum + s.missed, 0);
      // Under investigation: now and then (about one run in ten on this VM, in IRQ and in task
      // context) one event reaches ftrace but not our program, and recursion_misses stays 0.
      // One such event is tolerated, and every unmatched pair is printed.
      const uncounted = 1;
      const unseen = eventsInPid1(trace);
      if (missing.length + extra.length > 2 * (missed + uncounted + unseen)) {
        // What the other side has around each unmatched pair, to see why.
        const around = (hit: HitRecord, other: HitRecord[]) =>
          `${describe(hit)} | other side: ${other
            .filter((o) => keyOf(o) === keyOf(hit) && gap(o.begin.ts_ns, hit.begin.ts_ns) < 50_000n)
            .map(describe)
            .join(" ; ")}`;
        assert.equal(
          [missing.map((h) => around(h, replayHits)), extra.map((h) => around(h, liveHits))],
          [[], []],
          `${liveHits.length} live, ${replayHits.length} replayed pairs in the window; ` +
            `${missed} missed runs; ${unseen} events in PID 1's context; ` +
            `replay: ${reference.warnings.join("; ")}`,
        );
      }
      if (missing.length + extra.length > 0) {
        console.log(
          `  ${name}: ${missing.length} live and ${extra.length} replayed pairs unmatched ` +
            `(${missed} missed runs, ${unseen} events in PID 1's context): ` +
            [...missing, ...extra].map(describe).join("; "),
        );
      }
    } finally {
      recording.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/examples-differential", skip);
else test.run();
