// The window cut of a snapshot: which lines of a tracefs dump are kept, at µs resolution.

import assert from "node:assert/strict";
import { test } from "uvu";
import { eventTimestampNs } from "../../src/records/snapshot-note.ts";
import { cutWindow } from "../../src/session/snapshot-window.ts";

const HEADER = [
  "# tracer: nop",
  "#",
  "# entries-in-buffer/entries-written: 6/9   #P:2",
  "#",
  "#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION",
  "#              | |           |       |   |||||     |         |",
];
const DUMP = [
  ...HEADER,
  "##### CPU 1 buffer started ####",
  "            bash-5288    (   5288) [000] d..2.   428.557486: sched_switch: prev_comm=bash prev_pid=5288 ==> next_comm=sleep next_pid=5309",
  "  Web Content-77    (     70) [001] d..2.   428.558252: sched_wakeup: comm=sleep pid=5309 prio=120 target_cpu=001",
  " => try_to_wake_up",
  " => wake_up_q",
  "           sleep-5309    (   5309) [001] ...1.   428.558253: sys_exit_clock_nanosleep: NR 230 = 0",
  "          <idle>-0       (-------) [000] d..2.   428.600000: sched_switch: prev_comm=swapper/0 ==> next_comm=bash next_pid=7254",
  "  a-b-c-9 [000] d.h1.   429.000001: irq_handler_entry: irq=1 name=i8042",
].join("\n");

test("timestamps are read after the CPU column, whatever the comm holds", () => {
  assert.equal(
    eventTimestampNs("  Web Content-77    (     70) [001] d..2.   428.558252: sched_wakeup: x"),
    428_558_252_000n,
  );
  assert.equal(
    eventTimestampNs("  a-b-c-9 [000] d.h1.   429.000001: irq_handler_entry: irq=1"),
    429_000_001_000n,
  );
  assert.equal(eventTimestampNs("  x-1 [000]   5.123456789: foo: bar"), 5_123_456_789n);
  assert.equal(eventTimestampNs(" => try_to_wake_up"), null);
  assert.equal(eventTimestampNs("# tracer: nop"), null);
});

test("keeps the header and the events inside the window, with their stack lines", () => {
  // The begin at 428.558252_400 ns shows as 428.558252 µs: the lower edge is truncated alike.
  const cut = cutWindow(DUMP, 428_558_252_400n, 428_558_253_900n);
  const lines = cut.text.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, HEADER.length), [
    ...HEADER.slice(0, 2),
    "# entries-in-buffer/entries-written: 2/2   #P:2",
    ...HEADER.slice(3),
  ]);
  assert.deepEqual(
    lines.slice(HEADER.length).map((l) => l.trim().split(/\s+/)[0]),
    ["Web", "=>", "=>", "sleep-5309"],
  );
  assert.equal(cut.events, 2);
  assert.equal(cut.oldestNs, 428_557_486_000n);
  assert.equal(cut.newestNs, 428_600_000_000n);
});

test("an empty window keeps the header only; a window past the dump keeps the tail", () => {
  const empty = cutWindow(DUMP, 1_000_000_000n, 2_000_000_000n);
  assert.equal(empty.events, 0);
  assert.equal(empty.text.split("\n").filter((l) => !l.startsWith("#") && l !== "").length, 0);
  const tail = cutWindow(DUMP, 428_600_000_000n, 500_000_000_000n);
  assert.equal(tail.events, 2);
  assert.match(tail.text, /irq_handler_entry/);
  assert.doesNotMatch(tail.text, /CPU 1 buffer started/);
});

test.run();
