// The set-associative pending table's geometry and hashing, as the programs and the live
// session's sweep share them: 16-slot buckets over 4 × capacity slots, keys spread so that
// realistic key sets fill the table to capacity without a full bucket (a full bucket drops).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTracker } from "../../src/compiler/bpf/codegen.ts";
import {
  bucketOf,
  keyLayout,
  nearOwnerOf,
  pendingLayout,
  setAssociativeLayout,
} from "../../src/compiler/bpf/layout.ts";
import { ebpfListing } from "../../src/compiler/bpf/target.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";

function plan(text: string) {
  const { plan, diagnostics } = compileSource(text, "t.lt", { catalog: loadBundledCatalog() });
  assert.ok(plan, JSON.stringify(diagnostics));
  return plan;
}

const intKey = keyLayout([{ kind: "int", size: 4, signed: true }]);
const context = pendingLayout({
  thresholdNs: 1,
  timeoutNs: null,
  actions: [],
} as unknown as TrackerPlan);

test("4 x capacity far slots (a power of two, at most 4M) in buckets of 16; 16 near buckets from 64 far ones", () => {
  for (const [capacity, slots, nearBuckets] of [
    [1, 16, 0],
    [5, 32, 0],
    [200, 1024, 16],
    [1000, 4096, 16],
    [1024, 4096, 16],
    [8192, 32768, 16],
    [1_048_576, 1 << 22, 16],
  ]) {
    const d = setAssociativeLayout(capacity, intKey, context);
    assert.is(d.slots, slots, `capacity ${capacity}`);
    assert.is(d.nearBits > 0 ? 2 ** d.nearBits : 0, nearBuckets, `capacity ${capacity}`);
    assert.is(d.buckets, nearBuckets + d.slots / d.ways);
    assert.is(2 ** d.bits * d.ways, d.slots);
    assert.is(d.slotSize, 8 + 8 + 40);
    assert.is(d.bucketSize, 8 + 16 * d.slotSize);
  }
});

test("each near bucket owns the far buckets of its keys", () => {
  const d = setAssociativeLayout(8192, intKey, context);
  for (let k = 1; k < 5000; k += 7) {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, BigInt(k) * 0x10001n, true);
    const far = 2 ** d.nearBits + bucketOf(key, d.bits);
    assert.is(nearOwnerOf(d, far), bucketOf(key, d.nearBits));
  }
});

/** The most keys any bucket gets. */
function maxLoad(keys: Uint8Array[], bits: number): number {
  const load = new Map<number, number>();
  for (const k of keys) {
    const b = bucketOf(k, bits);
    load.set(b, (load.get(b) ?? 0) + 1);
  }
  return Math.max(...load.values());
}

function intBytes(n: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return bytes;
}

test("capacity-many pids, addresses or task names fit the default table with no full bucket", () => {
  const d = setAssociativeLayout(8192, intKey, context);
  const pids = Array.from({ length: 8192 }, (_, i) => intBytes(BigInt(300 + 7 * i)));
  const addresses = Array.from({ length: 8192 }, (_, i) =>
    intBytes(0xffff888000000000n + BigInt(i) * 4096n),
  );
  const names = Array.from({ length: 8192 }, (_, i) => {
    const bytes = new Uint8Array(16);
    bytes.set(new TextEncoder().encode(`kworker/${i % 64}:${i >> 6}`));
    return bytes;
  });
  for (const [what, keys] of [
    ["pids", pids],
    ["addresses", addresses],
    ["names", names],
  ] as const) {
    assert.ok(maxLoad(keys, d.bits) < d.ways, what);
  }
});

test("keep last: the begin replaces its key's begin under its seq, else scans again", () => {
  const listing = ebpfListing(
    plan("track t: sched_wakeup(args.pid) -> sched_switch(next_pid) keep last capacity 100"),
    { task: null },
  );
  const begin = listing.slice(listing.indexOf("ltsh_t_b0"));
  assert.match(begin, "replace:");
  assert.match(begin, "lost_slot:");
  // a lost seq or slot scans again, a bounded number of times, then drops
  assert.match(begin, /retry:\n.*\n.*if r1 >= 0x4 goto [+-]\d+ <drop>/);
  assert.match(begin, /goto -\d+ <scan>/);
  // the seq (in the lock map) taken (even → odd) and released (+2) around the write
  assert.match(begin, /r1 = map\[t\.locks\]/);
  assert.match(begin, /r0 = cmpxchg\(\*\(u64 \*\)\(r2 \+0\), r0, r1\)/);
  assert.match(begin, /\*\(u64 \*\)\(r2 \+0\) = r1/);
  const tracker = generateTracker(
    plan("track t: sched_wakeup(args.pid) -> sched_switch(next_pid)").trackers[0],
    0,
  );
  const table = tracker.layout.table;
  assert.ok(table.kind === "set-associative", "the default table");
  assert.is(tracker.maps[0].maxEntries, table.buckets);
});

test.run();
