// The reference semantics, one rule per test, on hand-made ftrace lines: pairing by key,
// strict threshold, keep first|last, timeouts in trace time, capacity, filters, builtins,
// alternatives, interleaved CPUs, both timestamp resolutions, warnings.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { wakeupPlan } from "../plans.ts";
import { action, field, side, tracker } from "./plan-helpers.ts";
import { compileTrackers, ftrace, ftraceRaw, runLines, switchTo, wakeup } from "./support.ts";

const WAKEUP = "track w: sched_wakeup(args.pid) -> sched_switch(next_pid)";

test("pairs by key; latency is end - begin in ns; every pair is counted", async () => {
  const [w] = compileTrackers(`${WAKEUP} > 5us`);
  const { hits, summaries } = await runLines(
    [w],
    [
      wakeup("10.000000", 7),
      wakeup("10.000002", 8),
      switchTo("10.000004", 8),
      switchTo("10.000010", 7),
    ],
  );
  assert.equal(
    hits.map((h) => [h.key, h.latency_ns]),
    [[[7n], 10_000]],
  );
  assert.is(summaries[0].pairs, 2);
  assert.is(summaries[0].min_ns, 2_000);
  assert.is(summaries[0].max_ns, 10_000);
  assert.is(hits[0].begin.probe, "sched:sched_wakeup");
  assert.is(hits[0].end?.probe, "sched:sched_switch");
  assert.is(hits[0].begin.ts_ns, 10_000_000_000n);
  assert.is(hits[0].end?.ts_ns, 10_000_010_000n);
});

test("the threshold is strict: latency equal to it is not a hit", async () => {
  const [w] = compileTrackers(`${WAKEUP} > 10us`);
  const { hits, summaries } = await runLines(
    [w],
    [
      wakeup("1.000000", 1),
      switchTo("1.000010", 1),
      wakeup("2.000000", 1),
      switchTo("2.000011", 1),
    ],
  );
  assert.equal(
    hits.map((h) => h.latency_ns),
    [11_000],
  );
  assert.is(summaries[0].hits, 1);
  assert.is(summaries[0].pairs, 2);
});

test("no threshold: aggregate only, no hits", async () => {
  const [w] = compileTrackers(WAKEUP);
  const { hits, summaries } = await runLines([w], [wakeup("1.000000", 1), switchTo("1.500000", 1)]);
  assert.is(hits.length, 0);
  assert.is(summaries[0].pairs, 1);
});

test("keep first (the default) ignores a second begin for a pending key; keep last replaces it", async () => {
  const lines = [wakeup("1.000000", 5), wakeup("1.000100", 5), switchTo("1.000300", 5)];
  const [first] = compileTrackers(`${WAKEUP} > 1us`);
  const [last] = compileTrackers(`${WAKEUP} > 1us keep last`);
  assert.is(first.keep, "first");
  assert.equal((await runLines([first], lines)).hits[0].latency_ns, 300_000);
  assert.equal((await runLines([last], lines)).hits[0].latency_ns, 200_000);
});

test("timeouts: one hit once trace time passes the deadline, latency = time waited", async () => {
  const [w] = compileTrackers(`${WAKEUP} > 1s timeout 1ms`);
  const { hits, summaries } = await runLines(
    [w],
    [
      wakeup("1.000000", 3),
      ftrace("1.001000", 0, "x-9", "sched_wakeup", "comm=x pid=99 prio=1 target_cpu=000"),
      ftrace("1.002500", 1, "x-9", "sched_wakeup", "comm=x pid=98 prio=1 target_cpu=000"),
      switchTo("1.003000", 3),
    ],
  );
  assert.equal(
    hits.map((h) => [h.kind, h.key, h.latency_ns, h.end]),
    [
      ["timeout", [3n], 2_500_000, null],
      ["timeout", [99n], 1_500_000, null],
    ],
    "pid 3 timed out at 1.0025 (exactly 1.001 is not past its deadline); its late end pairs nothing",
  );
  assert.is(summaries[0].timeouts, 2);
  assert.is(summaries[0].pairs, 0);
  assert.is(summaries[0].pending, 1, "pid 98 is still pending when the trace ends");
});

test("capacity: begins beyond it are dropped and counted", async () => {
  const [w] = compileTrackers(`${WAKEUP} capacity 2`);
  const { summaries } = await runLines(
    [w],
    [
      wakeup("1.0", 1),
      wakeup("1.1", 2),
      wakeup("1.2", 3),
      wakeup("1.3", 2),
      switchTo("1.4", 1),
      wakeup("1.5", 4),
    ],
  );
  assert.is(summaries[0].dropped, 1, "pid 3; pid 2 again is a pending key, not a new entry");
  assert.is(summaries[0].pairs, 1);
  assert.is(summaries[0].pending, 2, "pids 2 and 4");
});

test("filters: the begin filter decides what is recorded, the end filter which ends count", async () => {
  const [w] = compileTrackers(
    "track w: sched_wakeup(args.pid) where prio < 100 -> sched_switch(next_pid) where prev_pid != 66 > 1ns",
  );
  const { hits } = await runLines(
    [w],
    [
      ftrace("1.000000", 0, "a-1", "sched_wakeup", "comm=rt pid=10 prio=50 target_cpu=000"),
      ftrace("1.000000", 0, "a-1", "sched_wakeup", "comm=norm pid=11 prio=120 target_cpu=000"),
      switchTo("1.000005", 10, 0, 66),
      switchTo("1.000007", 11, 0, 1),
      switchTo("1.000009", 10, 0, 1),
    ],
  );
  assert.equal(
    hits.map((h) => [h.key, h.latency_ns]),
    [[[10n], 9_000]],
  );
});

test("builtins come from the line; keys on cpu pair interleaved CPUs separately", async () => {
  const [irq] = compileTrackers(
    "track i: irq_handler_entry(irq, $cpu) -> irq_handler_exit(irq, $cpu) > 1ns",
  );
  const { hits } = await runLines(
    [irq],
    [
      ftrace("5.000001", 0, "a-10", "irq_handler_entry", "irq=24 name=eth0", 10),
      ftrace("5.000002", 1, "b-20", "irq_handler_entry", "irq=24 name=eth0", 20),
      ftrace("5.000004", 1, "b-20", "irq_handler_exit", "irq=24 ret=handled", 20),
      ftrace("5.000009", 0, "a-10", "irq_handler_exit", "irq=24 ret=handled", 10),
    ],
  );
  assert.equal(
    hits.map((h) => [h.key, h.latency_ns, h.begin.comm, h.begin.tid, h.begin.pid, h.end?.cpu]),
    [
      [[24n, 1n], 2_000, "b", 20, 20, 1],
      [[24n, 0n], 8_000, "a", 10, 10, 0],
    ],
  );
});

test("timestamps at microsecond and nanosecond resolution are exact integers", async () => {
  const [w] = compileTrackers(`${WAKEUP} > 1ns`);
  const { hits } = await runLines(
    [w],
    [
      wakeup("4503599.627370", 1),
      switchTo("4503599.627370497", 1),
      wakeup("4503600.000001", 2),
      switchTo("4503600.000001002", 2),
    ],
  );
  assert.equal(
    hits.map((h) => [h.latency_ns, h.end?.ts_ns]),
    [
      [497, 4503599627370497n],
      [2, 4503600000001002n],
    ],
  );
});

test("alternatives: the hit says which probe began and which ended the pair", async () => {
  const [t] = compileTrackers(
    "track t: { sys_exit_accept($pid, ret) | sys_exit_accept4($pid, ret) } -> { sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) } > 1ns",
  );
  const { hits } = await runLines(
    [t],
    [
      ftraceRaw("1.000000", 0, "srv-100", "sys_accept4 -> 0x5", 100),
      ftraceRaw("1.000010", 0, "srv-101", "sys_write(fd: 1, buf: 0x1, count: 1)", 100),
      ftraceRaw(
        "1.000020",
        0,
        "srv-101",
        "sys_sendto(fd: 5, buff: 0x7f, len: 0x77, flags: 0, addr: 0, addr_len: 0)",
        100,
      ),
    ],
  );
  assert.equal(
    hits.map((h) => [h.key, h.begin.probe, h.end?.probe, h.latency_ns]),
    [[[100n, 5n], "syscalls:sys_exit_accept4", "syscalls:sys_enter_sendto", 20_000]],
  );
});

test("an event that ends a pair and begins the next (same probe both sides) does both, end first", async () => {
  const [t] = compileTrackers("track percpu: sched_switch($cpu) -> sched_switch($cpu) > 1ns");
  const { hits } = await runLines(
    [t],
    [switchTo("1.000000", 1), switchTo("1.000010", 2), switchTo("1.000030", 3)],
  );
  assert.equal(
    hits.map((h) => h.latency_ns),
    [10_000, 20_000],
  );
});

test("warnings: probes the trace never contains, pid without tgids, uid, stack", async () => {
  const plan = wakeupPlan({ actions: [action("print"), action("stack")] });
  const uid = tracker(
    "u",
    [side("sched:sched_wakeup", [{ ...field("pid"), kind: "builtin", name: "uid" } as never])],
    [side("irq:irq_handler_exit", [field("irq")])],
  );
  const [pidKeyed] = compileTrackers("track p: sched_wakeup($pid) -> sched_switch($pid)");
  const { warnings } = await runLines(
    [plan, uid, pidKeyed],
    [wakeup("1.0", 1), switchTo("1.1", 1)],
  );
  assert.ok(warnings.some((w) => /stack is unavailable in replay/.test(w)));
  assert.ok(warnings.some((w) => /irq:irq_handler_exit never occurs in test.txt/.test(w)));
  assert.ok(warnings.some((w) => /uid is unavailable in replay/.test(w)));
  assert.ok(warnings.some((w) => /pid \(thread-group id\) is not in this trace/.test(w)));
  assert.is(new Set(warnings).size, warnings.length, "each warning once");
});

test("prev_state letters become the kernel's state bits (offcpu's prev_state != 0)", async () => {
  const [off] = compileTrackers(
    "track off: sched_switch(prev_pid) where prev_state == 1 -> sched_switch(next_pid) > 1ns",
  );
  const { hits } = await runLines(
    [off],
    [
      switchTo("1.0", 9, 0, 5, "S"),
      switchTo("1.1", 9, 0, 6, "R+"),
      switchTo("1.3", 5),
      switchTo("1.4", 6),
    ],
  );
  assert.equal(
    hits.map((h) => [h.key, h.latency_ns]),
    [[[5n], 300_000_000]],
  );
});

test("alternatives on one probe: only the first that applies begins or ends, per event", async () => {
  const [t] = compileTrackers(
    "track two: { sched_wakeup(args.pid) | sched_wakeup(prio) } -> { sched_switch(next_pid) | sched_switch(next_prio) } > 1ns",
  );
  const { hits, summaries } = await runLines([t], [wakeup("1.000000", 7), switchTo("1.000010", 7)]);
  assert.equal(
    hits.map((h) => h.key),
    [[7n]],
  );
  assert.is(summaries[0].pending, 0, "prio 120 was never recorded as a second begin");
});

test.run();
