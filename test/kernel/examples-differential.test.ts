// The differential on the shared corpus: every example of examples/ runs live (eBPF) while a
// tracefs instance records the events it needs; the recording is then replayed with the same
// trackers by the reference interpreter, and both must report the same pairs.
//
// So that every pair is comparable, each tracker's threshold is lowered to 1 ns (every pair
// is a hit, with its key, tasks and CPUs). Pairs are compared within a window both backends
// watched whole, [A, B]: each live hit must match a replayed hit (same key, begin and end
// task and CPU, the closest in time within TIME_SLACK_NS) and the other way round. Tolerated unmatched: a
// pair within TIME_SLACK_NS of the window's edges (the two clocks read a moment apart), or
// shorter than SHORT_NS (the trace prints microseconds: a pair within one microsecond may
// read as 0 ns, which is no hit). Scheduler examples are compared on the workload's own
// task, pinned to CPU 0: this kernel's ftrace does not record switches away from the idle
// task on CPU 1 (BPF sees them), which would leave the replay's pairs there open.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ProgramPlan } from "../../src/compiler/plan.ts";
import { TracefsInstance } from "../../src/kernel/tracefs.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { exampleFiles, examplePlan } from "../corpus.ts";
import { namedCopy, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

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

/** Every pair a hit, so that each one can be matched; a ring buffer that holds them all. */
function everyPair(plan: ProgramPlan): ProgramPlan {
  return {
    ...plan,
    options: { ...plan.options, "ringbuf.size": 64 << 20 },
    trackers: plan.trackers.map((t) => ({ ...t, thresholdNs: 1 })),
  };
}

async function replay(path: string, plan: ProgramPlan) {
  const hits: HitRecord[] = [];
  const session = await openSession("replay", {
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: () => {} },
    replay: { path },
  });
  for (const t of plan.trackers) await session.add(t);
  await session.done?.();
  await session.close();
  return hits;
}

const endNs = (hit: HitRecord) => hit.end?.ts_ns ?? hit.begin.ts_ns + BigInt(hit.latency_ns);

const gap = (x: bigint, y: bigint) => (x > y ? x - y : y - x);

/** How far apart two reports of one pair are; null when they cannot be the same pair. */
function distance(a: HitRecord, b: HitRecord): bigint | null {
  const same =
    a.tracker === b.tracker &&
    a.key.map(String).join() === b.key.map(String).join() &&
    a.begin.tid === b.begin.tid &&
    a.begin.cpu === b.begin.cpu &&
    a.end?.tid === b.end?.tid &&
    a.end?.cpu === b.end?.cpu;
  const d = gap(a.begin.ts_ns, b.begin.ts_ns) + gap(endNs(a), endNs(b));
  return same && d < TIME_SLACK_NS ? d : null;
}

/**
 * The pairs of one side that the other lacks and that no tolerance explains. Each is matched
 * to the closest unclaimed report of the other side (a task's syscalls come microseconds
 * apart: the first that fits within the slack may be its neighbour's).
 */
function unexplained(from: HitRecord[], other: HitRecord[], a: bigint, b: bigint): HitRecord[] {
  const claimed = new Set<number>();
  return from.filter((hit) => {
    let best = -1;
    let bestDistance = TIME_SLACK_NS;
    other.forEach((o, i) => {
      const d = claimed.has(i) ? null : distance(hit, o);
      if (d !== null && d < bestDistance) [best, bestDistance] = [i, d];
    });
    if (best >= 0) {
      claimed.add(best);
      return false;
    }
    const nearEdge = hit.begin.ts_ns - a < TIME_SLACK_NS || b - endNs(hit) < TIME_SLACK_NS;
    return !nearEdge && hit.latency_ns >= SHORT_NS;
  });
}

const describe = (hit: HitRecord) =>
  `${hit.tracker} key=${hit.key.join(",")} ${hit.latency_ns}ns ${hit.begin.comm}-${hit.begin.tid}` +
  ` cpu${hit.begin.cpu} @${hit.begin.ts_ns} -> ${hit.end?.comm}-${hit.end?.tid} cpu${hit.end?.cpu}`;

for (const file of exampleFiles()) {
  const name = file.replace(/\.lt$/, "");
  const workload = WORKLOADS[name];
  test(`examples/${file}: live and replay of the same events report the same pairs`, async () => {
    assert.ok(workload, `a workload for examples/${file} (add one to WORKLOADS)`);
    const plan = everyPair(examplePlan(file));
    const probes = plan.trackers.flatMap((t) => [...t.begins, ...t.ends].map((s) => s.probe.id));
    const dir = mkdtempSync(join(tmpdir(), "ltsh-diff-"));
    const recording = TracefsInstance.create({
      purpose: "diff",
      bufferKiB: 131072,
      overwrite: false,
    });
    try {
      recording.enableEvents(recording.resolveEvents([...new Set(probes)]).events);
      recording.resume();
      let a = 0n;
      let b = 0n;
      let pid = 0;
      const live = await runLive(plan, async () => {
        await sleep(20);
        a = monoNow();
        pid = await workload.run();
        await sleep(20);
        b = monoNow();
      });
      recording.freeze();
      assert.is(recording.bufferStats().dropped, 0, "the recording kept every event");
      for (const s of live.summaries) assert.is(s.dropped, 0, `${s.tracker}: live kept every hit`);
      const tracePath = join(dir, "trace.txt");
      writeFileSync(tracePath, recording.readTrace());
      const reference = await replay(tracePath, plan);
      // to look at a failure: LTSH_KEEP_TRACE=DIR keeps each example's recording there
      if (process.env.LTSH_KEEP_TRACE) {
        writeFileSync(join(process.env.LTSH_KEEP_TRACE, `${name}.txt`), readFileSync(tracePath));
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
      const replayHits = inWindow(reference);
      assert.ok(liveHits.length > 0, `the workload made ${name} pairs live`);
      const missing = unexplained(liveHits, replayHits, a, b);
      const extra = unexplained(replayHits, liveHits, a, b);
      assert.equal(
        [missing.map(describe), extra.map(describe)],
        [[], []],
        `${liveHits.length} live, ${replayHits.length} replayed pairs in the window`,
      );
    } finally {
      recording.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/examples-differential", skip);
else test.run();
