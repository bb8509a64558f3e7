// The kmod backend's decoder: hit records and stats as user space reads them from a generated
// module, struct lt_hit bytes laid out by hand from kmod-runtime/lt_tracker.h's offsets.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { captureLayout } from "../../src/compiler/bpf/layout.ts";
import { KmodRecords } from "../../src/session/kmod-chain.ts";
import {
  decodeHit,
  HIT_RECORD_SIZE,
  LT_HIT_CAPTURES,
  parseStats,
} from "../../src/session/kmod-decode.ts";
import { planOf } from "./support.ts";

const plan = planOf("track w: sched_wakeup(pid, comm) -> sched_switch(next_pid, next_comm) > 1us")
  .trackers[0];

function context(buf: Buffer, at: number, ts: bigint, probe: number, comm: string): void {
  buf.writeBigUInt64LE(ts, at);
  buf.writeUInt32LE(1, at + 8);
  buf.writeInt32LE(42, at + 12);
  buf.writeInt32LE(40, at + 16);
  buf.writeUInt16LE(probe, at + 20);
  buf.write(comm, at + 24, "latin1");
}

function record(kind: number): Buffer {
  const buf = Buffer.alloc(HIT_RECORD_SIZE);
  buf.writeUInt32LE(0, 0);
  buf.writeUInt32LE(kind, 4);
  buf.writeBigUInt64LE(5000n, 8);
  buf.writeUInt32LE(24, 16);
  buf.writeBigInt64LE(1234n, 24);
  buf.write("cyclictest", 32, "latin1");
  context(buf, 56, 1_000_000n, 0, "swapper/1");
  if (kind === 1) context(buf, 96, 1_005_000n, 0, "cyclictest");
  return buf;
}

test("a threshold hit decodes to the output contract's record", () => {
  const hit = decodeHit(record(1), [plan]);
  assert.equal(hit, {
    type: "hit",
    tracker: "w",
    kind: "threshold",
    latency_ns: 5000,
    key: [1234n, "cyclictest"],
    begin: {
      probe: "sched:sched_wakeup",
      ts_ns: 1_000_000n,
      cpu: 1,
      tid: 42,
      pid: 40,
      comm: "swapper/1",
    },
    end: {
      probe: "sched:sched_switch",
      ts_ns: 1_005_000n,
      cpu: 1,
      tid: 42,
      pid: 40,
      comm: "cyclictest",
    },
    snapshot: null,
    stack: null,
    key_comm: null,
  });
});

test("the key's task is named by the live system, or by the event's own task for $tid", () => {
  const names = (pid: number) => (pid === 1234 ? "cyclictest" : null);
  assert.is(decodeHit(record(1), [plan], names)?.key_comm, "cyclictest");
  assert.is(decodeHit(record(1), [plan], () => null)?.key_comm, null);
  const byThread = planOf("track t: sys_enter($tid) -> sys_exit($tid) > 1us").trackers[0];
  const thread = record(1);
  thread.writeUInt32LE(8, 16);
  assert.is(decodeHit(thread, [byThread], names)?.key_comm, "cyclictest", "the end's task");
  assert.is(decodeHit(record(2), [byThread], names)?.key_comm, "swapper/1", "a timeout's begin");
});

test("a timeout hit has no end; unknown trackers and kinds are not hits", () => {
  const hit = decodeHit(record(2), [plan]);
  assert.is(hit?.kind, "timeout");
  assert.is(hit?.end, null);
  const stranger = record(1);
  stranger.writeUInt32LE(7, 0);
  assert.is(decodeHit(stranger, [plan]), null);
  assert.is(decodeHit(record(9), [plan]), null);
});

const printing = planOf(
  "track p: sched_wakeup(pid) -> sched_switch(next_pid) > 1us then print(prio, prev_state, next_comm)",
).trackers[0];

/** The LT_HIT_CAPTURES record: each side's values in captureLayout's slots, from offset 16. */
function capturesRecord(begin: Record<string, unknown>, end: Record<string, unknown>): Buffer {
  const buf = Buffer.alloc(HIT_RECORD_SIZE);
  buf.writeUInt32LE(LT_HIT_CAPTURES, 4);
  const layout = captureLayout(printing);
  (printing.captures ?? []).forEach((capture, i) => {
    [begin, end].forEach((side, s) => {
      const value = side[capture.name];
      const at = 16 + s * layout.size + layout.offsets[i];
      if (typeof value === "bigint") buf.writeBigInt64LE(value, at);
      if (typeof value === "string") buf.write(value, at, "latin1");
    });
  });
  return buf;
}

test("a hit with captures: its fields, their names and key_comm from the record after it", () => {
  const records = new KmodRecords([printing], () => "from-proc");
  const header = record(1);
  header.writeUInt32LE(8, 16);
  const begin = { prio: 120n, key_comm: "cyclictest" };
  const end = { prev_state: 2n, next_comm: "cyclictest", key_comm: "cyclictest" };
  assert.is(records.push(header), null, "the hit waits for its captures");
  const hit = records.push(capturesRecord(begin, end));
  assert.equal(hit?.fields, { prio: 120n, prev_state: 2n, next_comm: "cyclictest" });
  assert.equal(hit?.fields_text, { prev_state: "D" });
  assert.is(hit?.key_comm, "cyclictest");
  assert.is(records.header?.readUInt32LE(4), 1, "the stack is read from the hit, not its captures");
  // A timeout has no end: the end's fields are null, the key named by the begin.
  const timeout = record(2);
  timeout.writeUInt32LE(8, 16);
  records.push(timeout);
  const late = records.push(capturesRecord({ prio: 98n, key_comm: "irq/24" }, end));
  assert.equal(late?.fields, { prio: 98n, prev_state: null, next_comm: null });
  assert.is(late?.key_comm, "irq/24");
  // Captures with no hit before them (a read that started between the two) are no hit.
  assert.is(records.push(capturesRecord(begin, end)), null);
});

test("stats lines become summaries: bucket k is le_ns 2^k, lost hits count as dropped", () => {
  const counts: Record<number, number> = { 0: 1, 10: 3, 12: 1 };
  const hist = Array.from({ length: 64 }, (_, i) => counts[i] ?? 0).join(",");
  const [s] = parseStats(
    `tracker=w pairs=5 hits=2 timeouts=1 dropped=1 lost=2 min_ns=1 max_ns=4000 hist=${hist} begins=7 pending=1 sum_ns=7001\n`,
  );
  assert.equal(
    { ...s, p50_ns: s.p50_ns, hist: s.hist },
    {
      type: "summary",
      tracker: "w",
      pairs: 5,
      hits: 2,
      timeouts: 1,
      dropped: 3,
      pending: 1,
      min_ns: 1,
      p50_ns: 1024,
      p99_ns: 4000,
      max_ns: 4000,
      hist: [
        { le_ns: 1, count: 1 },
        { le_ns: 1024, count: 3 },
        { le_ns: 4096, count: 1 },
      ],
      sum_ns: 7001,
      missed: 0,
    },
  );
});

test("the stats line's cancelled is the summary's; an older runtime's line has none", () => {
  const line = (tail: string) =>
    `tracker=w pairs=1 hits=0 timeouts=0 dropped=0 lost=0 min_ns=5 max_ns=5 hist=0 begins=4 pending=0${tail}\n`;
  assert.is(parseStats(line(" sum_ns=5 cancelled=3"))[0].cancelled, 3);
  assert.is(parseStats(line(" sum_ns=5"))[0].cancelled, undefined);
});

test.run();
