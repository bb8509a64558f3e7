// Differential for chain trackers: while a chain tracker runs live, its events and the
// context events a chain needs (what `ltsh record --for-file` records) are recorded through a
// tracefs instance; replaying the recording with the reference interpreter must give the same
// hits: stage kinds, tids and CPUs exactly, latencies within the trace's resolution (until
// run, until block with a waypoint, a `->` hand-off keyed by the reader's tid, and a timer
// waking the task it interrupted, which is running). The
// workload is pinned to CPU 0: this VM's ftrace never records a switch away from the idle
// task on CPU 1 (BPF sees it).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCatalog } from "../../src/compiler/catalog/index.ts";
import { chainContextEvents } from "../../src/compiler/contexts.ts";
import type { FilePlan } from "../../src/compiler/plan.ts";
import type { HitRecord } from "../../src/records/types.ts";
import {
  compileText,
  output,
  recordDuring,
  replayTrace,
  runLive,
  udpWorkload,
} from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const lo = `
track lo: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "udp-reader"
    > 1ns
track blk: softirq_raise where vec == 3
    ~> softirq_entry where vec == 3
    ~> sched_switch where next_comm == "udp-reader"
    until block > 1ns
track rpc: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "udp-reader"
    ~> sys_exit_recvfrom($tid)
    -> sys_enter_write($tid) where comm == "udp-reader"
    > 1ns
`;

/** The tracepoints `ltsh record --for-file` records for the chain trackers of a plan. */
function chainEvents(plan: FilePlan): string[] {
  const catalog = loadCatalog();
  const ids = plan.trackers.flatMap((t) => t.chain?.steps.map((s) => s.side.probe.id) ?? []);
  ids.push(...chainContextEvents().filter((id) => catalog.find(id).ok));
  return [...new Set(ids)];
}

const shapeOf = (hit: HitRecord) =>
  `${hit.tracker}: ${hit.chain?.map((s) => `${s.stage} ${s.tid} cpu${s.cpu}`).join(", ")}`;

async function differential(count: number, options: { gapMs?: number; busyMs?: number }) {
  const plan = compileText(lo);
  await recordDuring(
    chainEvents(plan),
    () =>
      runLive(plan, async () => {
        await output(["taskset", "-c", "0", "python3", "-c", udpWorkload(count, options)]);
      }),
    async (trace, live) => {
      const reference = await replayTrace(trace, plan);
      const ours = (hits: HitRecord[]) =>
        hits.filter((h) => h.chain?.some((s) => s.comm === "udp-reader"));
      const liveHits = ours(live.hits);
      const replayHits = ours(reference.hits);
      for (const name of ["lo", "blk", "rpc"]) {
        const n = liveHits.filter((h) => h.tracker === name).length;
        if (options.busyMs === undefined) {
          assert.ok(n >= count - live.summaries[0].missed, `${name}: ${n} hits`);
        } else assert.ok(n > 0, `${name}: no hits`);
      }
      assert.equal(
        liveHits.map(shapeOf),
        replayHits.map(shapeOf),
        `${liveHits.length} live hits, ${replayHits.length} replayed`,
      );
      const blocks = liveHits.filter((h) => h.tracker === "blk").map((h) => h.chain!.at(-1)!.stage);
      assert.ok(
        blocks.every((stage) => stage === "block"),
        "until block ends at the block",
      );
      // The trace prints microseconds, and BPF reads its clock a moment after ftrace does:
      // within 50 µs, or a few within 2 ms, when the virtual CPU was descheduled between
      // ftrace's handler and BPF's for the same event (a loaded host)
      const apart = liveHits.map((h, i) => Math.abs(h.latency_ns - replayHits[i].latency_ns));
      const far = apart.filter((d) => d >= 50_000);
      assert.ok(
        far.length <= 0.05 * apart.length && far.every((d) => d < 2_000_000),
        `latencies apart by ${far.join(", ")} ns in ${apart.length} hits`,
      );
    },
    // every context event of the machine (all engineers' load): per-CPU buffers of 32 MiB
    32768,
  );
}

test("live and replay of a chain tracker agree on every hit's stages, tids and CPUs", async () => {
  await differential(50, {});
});

// An RT task's sleep whose deadline has passed when the timer is armed: the timer interrupt
// comes at once, in the task itself (after it set itself sleeping, before it switched out),
// and wakes the task that is running: a holder at once, its target the switch-in it had.
const self = `
track self: hrtimer_expire_entry
    ~> sched_switch where next_comm == "ltsh-self"
    > 1ns
`;

const selfWaking = [
  "import time",
  'open("/proc/self/comm", "w").write("ltsh-self")',
  "time.sleep(0.02)",
  "for i in range(200): time.sleep(1e-9)",
].join("\n");

test("waking the running task: a run at once, live as replay", async () => {
  const plan = compileText(self);
  await recordDuring(
    chainEvents(plan),
    () =>
      runLive(plan, async () => {
        await output(["taskset", "-c", "0", "chrt", "-f", "10", "python3", "-c", selfWaking]);
      }),
    async (trace, live) => {
      const reference = await replayTrace(trace, plan);
      const [ours, theirs] = [live.summaries[0], reference.summaries[0]];
      assert.ok(theirs.pairs > 200, `replay: ${theirs.pairs} pairs`);
      assert.is(ours.pairs + ours.missed >= theirs.pairs, true, `${ours.pairs} pairs live`);
      assert.is(ours.pairs <= theirs.pairs, true, `${ours.pairs} pairs live`);
      const atOnce = live.hits.filter((h) => h.chain?.[0].comm === "ltsh-self");
      assert.ok(atOnce.length >= 200 - ours.missed, `${atOnce.length} hits in the task`);
      for (const hit of atOnce) {
        const [origin, waking, run] = hit.chain!;
        assert.equal(
          hit.chain!.map((s) => `${s.stage} ${s.tid} cpu${s.cpu}`),
          ["origin", "waking", "run"].map((stage) => `${stage} ${origin.tid} cpu0`),
        );
        assert.is(run.ts_ns, waking.ts_ns, "the running task runs from its waking on");
      }
      // the hits replay sees at its microsecond resolution are the live ones
      const replayed = reference.hits.filter((h) => h.chain?.[0].comm === "ltsh-self");
      const shapes = new Set(atOnce.map(shapeOf));
      assert.ok(replayed.length > 0 && replayed.every((h) => shapes.has(shapeOf(h))));
    },
  );
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/chain-replay", skip);
else test.run();
