// Chain trackers on the live eBPF backend, with workloads the tests start: UDP datagrams on
// loopback to a reader thread (one hit per datagram: raise → softirq → waking → run), and
// cyclictest with the timer chain (pairs ≈ loops, the chain's max ≤ cyclictest's max).
// `missed` (events the kernel did not run a program for, because another BPF program was
// running on that CPU) is reported; each such event loses at most one chain.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { SummaryRecord } from "../../src/records/types.ts";
import { compileText, output, runLive, shape, udpWorkload } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const lo = `
track lo: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "udp-reader"
    > 1ns
`;

test("UDP on loopback: one hit per datagram, raise → softirq → waking → run", async () => {
  const count = 100;
  const live = await runLive(compileText(lo), async () => {
    await output(["python3", "-c", udpWorkload(count)]);
  });
  const s = live.summaries[0] as SummaryRecord;
  assert.equal([s.pairs, s.hits, s.dropped], [s.pairs, s.pairs, 0]);
  // an event the kernel did not run our program for (counted in missed) loses at most its
  // datagram's chain; with none missed, every datagram is a pair
  assert.ok(
    s.pairs <= count && s.pairs + s.missed >= count,
    `${s.pairs} pairs, ${s.missed} missed`,
  );
  // other NET_RX on the machine (other tests' loopback traffic) starts chains that break
  assert.type(s.broken, "number");
  for (const hit of live.hits) {
    const { kinds, sums } = shape(hit);
    assert.equal(
      kinds,
      ["origin", "raise", "softirq", "waking", "run"],
      hit.chain?.map((x) => `${x.stage} ${x.comm}`).join(", "),
    );
    assert.ok(sums, "the stages' durations add up to the latency");
    assert.is(hit.chain?.[3].comm, "udp-reader");
    assert.is(hit.chain?.[4].tid, hit.chain?.[3].tid, "the woken reader is the one run");
  }
  assert.is(s.segments?.[0].pairs, s.pairs);
});

const stuck = `
track stuck: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "udp-reader"
    until block timeout 20ms
`;

test("a chain past its timeout is a timeout hit whose stages stop where it is stuck", async () => {
  const count = 5;
  const live = await runLive(compileText(stuck), async () => {
    // the reader spins 60 ms after each datagram: its chain waits for a block past the timeout
    await output(["python3", "-c", udpWorkload(count, { gapMs: 100, busyMs: 60 })]);
  });
  const s = live.summaries[0] as SummaryRecord;
  // the spinning reader may still block within 20 ms, on the GIL it hands to the sender
  assert.ok(s.timeouts >= 1, `${s.timeouts} timeouts`);
  assert.ok(s.timeouts + s.pairs + s.missed >= count, `${s.timeouts} timeouts, ${s.pairs} pairs`);
  assert.ok(s.pairs === 0 || s.max_ns! <= 20_000_000, "a pair is one that ended in time");
  const ours = live.hits.filter((h) => h.chain?.some((x) => x.comm === "udp-reader"));
  // other loopback traffic on the machine may time out too: ours are among the timeouts
  assert.ok(ours.length >= 1 && ours.length <= s.timeouts, `${ours.length} of ${s.timeouts}`);
  for (const hit of ours) {
    const kinds = hit.chain!.map((x) => x.stage);
    assert.is(hit.kind, "timeout");
    assert.is(hit.end, null);
    assert.equal(kinds.slice(0, 5), ["origin", "raise", "softirq", "waking", "run"]);
    assert.ok(!kinds.includes("block"), kinds.join(" "));
    assert.ok(hit.latency_ns >= 20_000_000, `${hit.latency_ns}`);
  }
});

const timer = `
track timer: hrtimer_expire_entry
    ~> sched_switch where next_comm == "cyclictest" && next_prio < 100
`;

test("cyclictest: the timer chain pairs once per loop, its max at most cyclictest's", async () => {
  const loops = 500;
  let report = "";
  const live = await runLive(compileText(timer), async () => {
    report = await output(["cyclictest", "-t1", "-p80", "-i1000", `-l${loops}`, "-q", "-m"]);
  });
  const s = live.summaries[0] as SummaryRecord;
  const max = /Max:\s*(\d+)/.exec(report);
  assert.ok(max, report);
  const lost = Math.min(s.missed, loops);
  // pairs ≈ loops (the words): a loop may also end unpaired when cyclictest was
  // already running at its timer (no waking: the chain is broken, counted), at most 1%
  const slack = Math.ceil(loops / 100);
  assert.ok(
    s.pairs >= loops - lost - slack && s.pairs <= loops + 2,
    `${s.pairs} pairs, ${s.missed} missed, ${s.broken} broken`,
  );
  assert.ok(
    (s.max_ns ?? 0) <= Number(max![1]) * 1000,
    `${s.max_ns} ns > cyclictest's ${max![1]} us`,
  );
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/chain-live", skip);
else test.run();
