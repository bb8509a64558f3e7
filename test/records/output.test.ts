// The NDJSON output contract (field order, exact u64) and the human formatting of hits,
// summaries and the log2 histogram.

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  formatDuration,
  formatHitLine,
  formatSummary,
  formatTimestamp,
  hitToJson,
  summaryToJson,
} from "../../src/records/output.ts";
import { bucketIndex, bucketUpperBound, LatencyStats } from "../../src/records/stats.ts";
import type { HitRecord } from "../../src/records/types.ts";

const hit: HitRecord = {
  type: "hit",
  tracker: "wakeup",
  kind: "threshold",
  latency_ns: 312400,
  key: [1234n, 18446744073709551615n, 'a"b'],
  begin: {
    probe: "sched:sched_wakeup",
    ts_ns: 9007199254740993n,
    cpu: 1,
    tid: 1234,
    pid: 1234,
    comm: "cyclictest",
  },
  end: null,
  snapshot: null,
  stack: null,
};

test("hit NDJSON keeps the contract's field order and exact u64 values", () => {
  const line = hitToJson(hit);
  assert.is(
    line,
    '{"type":"hit","tracker":"wakeup","kind":"threshold","latency_ns":312400,' +
      '"key":[1234,18446744073709551615,"a\\"b"],"begin":{"probe":"sched:sched_wakeup",' +
      '"ts_ns":9007199254740993,"cpu":1,"tid":1234,"pid":1234,"comm":"cyclictest"},' +
      '"end":null,"snapshot":null,"stack":null}',
  );
  const parsed = JSON.parse(line);
  assert.equal(Object.keys(parsed), [
    "type",
    "tracker",
    "kind",
    "latency_ns",
    "key",
    "begin",
    "end",
    "snapshot",
    "stack",
  ]);
});

test("summary NDJSON has every field in order", () => {
  const stats = new LatencyStats("wakeup");
  for (const ns of [3, 900, 1000, 1025, 70_000]) stats.recordPair(ns);
  stats.hits = 2;
  stats.dropped = 1;
  const parsed = JSON.parse(summaryToJson(stats.summary()));
  assert.equal(Object.keys(parsed), [
    "type",
    "tracker",
    "pairs",
    "hits",
    "timeouts",
    "dropped",
    "pending",
    "min_ns",
    "p50_ns",
    "p99_ns",
    "max_ns",
    "hist",
    "sum_ns",
    "missed",
  ]);
  assert.is(parsed.sum_ns, 3 + 900 + 1000 + 1025 + 70_000);
  assert.equal(parsed.hist, [
    { le_ns: 4, count: 1 },
    { le_ns: 1024, count: 2 },
    { le_ns: 2048, count: 1 },
    { le_ns: 131072, count: 1 },
  ]);
  assert.is(parsed.min_ns, 3);
  assert.is(parsed.max_ns, 70_000);
  assert.is(parsed.p50_ns, 1024);
  assert.is(parsed.p99_ns, 70_000, "clamped to the exact max");
});

test("log2 buckets: le/2 < v <= le", () => {
  assert.is(bucketIndex(0), 0);
  for (const [v, le] of [
    [1, 1],
    [2, 2],
    [3, 4],
    [4, 4],
    [5, 8],
    [1024, 1024],
    [1025, 2048],
    [2 ** 31, 2 ** 31],
    [2 ** 31 + 1, 2 ** 32],
    [2 ** 40, 2 ** 40],
    [2 ** 40 + 1, 2 ** 41],
  ]) {
    assert.is(bucketUpperBound(bucketIndex(v)), le, `value ${v}`);
  }
});

test("durations and timestamps for people", () => {
  assert.is(formatDuration(850), "850ns");
  assert.is(formatDuration(312_400), "312us");
  assert.is(formatDuration(970_000), "970us");
  assert.is(formatDuration(100_000_000), "100ms");
  assert.is(formatDuration(10_000), "10us");
  assert.is(formatDuration(31_240), "31.2us");
  assert.is(formatDuration(1_500_000), "1.5ms");
  assert.is(formatDuration(2_000_000_000), "2s");
  assert.is(formatTimestamp(1234567890123n), "1234.567890123");
  assert.is(formatTimestamp(5n), "0.000000005");
});

test("hit line and summary with histogram bars", () => {
  const line = formatHitLine({ ...hit, kind: "timeout", key: [1234n] });
  assert.is(
    line,
    "9007199.254740993 wakeup TIMEOUT 312us key=1234 cyclictest-1234 cpu1 -> (timeout: no end)",
  );
  const stats = new LatencyStats("wakeup");
  stats.recordPair(1000);
  stats.recordPair(1000);
  stats.recordPair(3000);
  const text = formatSummary(stats.summary());
  assert.match(text, /^wakeup: 3 pairs, 0 hits, 0 timeouts, 0 dropped, 0 pending\n/);
  assert.match(text, /min 1us {2}p50 1.02us {2}p99 3us {2}max 3us/);
  assert.match(text, /\(512ns, 1.02us\] 2 \|█{40}\|/);
  assert.match(text, /\(2.05us, 4.1us\] 1 \|█{20} {20}\|/);
});

test.run();
