// The Prometheus exposition of summaries: names, units, HELP/TYPE, cumulative log2 buckets
// with +Inf = pairs, exact _sum, escaping; promtool accepts it; and at one instant of a
// replay the histogram a scraper reads equals the NDJSON summary.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderMetrics } from "../../src/metrics/exposition.ts";
import { BUCKETS, LatencyStats } from "../../src/records/stats.ts";
import type { SummaryRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { compileTrackers } from "../replay/support.ts";
import { parseExposition, sampleValue } from "./parse.ts";

function summaryOf(tracker: string, latencies: number[]): SummaryRecord {
  const stats = new LatencyStats(tracker);
  for (const ns of latencies) stats.recordPair(ns);
  stats.hits = 2;
  stats.timeouts = 1;
  stats.dropped = 4;
  stats.pending = 5;
  stats.missed = 6;
  return stats.summary();
}

const wakeup = summaryOf("wakeup", [0, 1, 3, 1000, 1024, 1025, 300_000, 5e9]);

test("every family has HELP and TYPE, base units and _total counters", () => {
  const text = renderMetrics([wakeup], { version: "1.2.3" });
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
  assert.equal(types, [
    ["ltsh_latency_seconds", "histogram"],
    ["ltsh_pairs_total", "counter"],
    ["ltsh_hits_total", "counter"],
    ["ltsh_dropped_total", "counter"],
    ["ltsh_pending", "gauge"],
    ["ltsh_missed_events_total", "counter"],
    ["ltsh_build_info", "gauge"],
  ]);
  for (const [name] of types) assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"));
  const samples = parseExposition(text);
  const t = { tracker: "wakeup" };
  assert.is(sampleValue(samples, "ltsh_pairs_total", t), 8);
  assert.is(sampleValue(samples, "ltsh_hits_total", { ...t, kind: "threshold" }), 2);
  assert.is(sampleValue(samples, "ltsh_hits_total", { ...t, kind: "timeout" }), 1);
  assert.is(sampleValue(samples, "ltsh_dropped_total", t), 4);
  assert.is(sampleValue(samples, "ltsh_pending", t), 5);
  assert.is(sampleValue(samples, "ltsh_missed_events_total", t), 6);
  assert.is(sampleValue(samples, "ltsh_build_info", { version: "1.2.3" }), 1);
  const labelNames = new Set(samples.flatMap((s) => Object.keys(s.labels)));
  assert.equal([...labelNames].sort(), ["kind", "le", "tracker", "version"]);
});

test("the histogram: every log2 bucket, cumulative, in seconds, +Inf = _count = pairs, exact _sum", () => {
  const samples = parseExposition(renderMetrics([wakeup], { version: "0" }));
  const buckets = samples.filter((s) => s.name === "ltsh_latency_seconds_bucket");
  assert.is(buckets.length, BUCKETS + 1);
  const le = (k: number) =>
    sampleValue(samples, "ltsh_latency_seconds_bucket", { le: String(2 ** k / 1e9) });
  assert.is(le(0), 2, "le=1ns holds 0 and 1");
  assert.is(le(1), 2);
  assert.is(le(2), 3, "3ns is in (2, 4]");
  assert.is(le(10), 5, "1000 and 1024 are in (512, 1024]");
  assert.is(le(11), 6, "1025 is in (1024, 2048]");
  assert.is(le(19), 7, "300us is in (262us, 524us]");
  assert.is(le(33), 8, "5s is in (4.29s, 8.59s]");
  assert.is(le(BUCKETS - 1), 8);
  assert.is(sampleValue(samples, "ltsh_latency_seconds_bucket", { le: "+Inf" }), 8);
  assert.is(sampleValue(samples, "ltsh_latency_seconds_count", {}), 8);
  assert.is(
    sampleValue(samples, "ltsh_latency_seconds_sum", {}),
    (0 + 1 + 3 + 1000 + 1024 + 1025 + 300_000 + 5e9) / 1e9,
  );
  const values = buckets.map((b) => b.value);
  assert.ok(
    values.every((v, i) => i === 0 || v >= values[i - 1]),
    "cumulative",
  );
});

test("a read caught between a pair and its bucket still gives a cumulative histogram", () => {
  const torn = { ...wakeup, pairs: 7 };
  const samples = parseExposition(renderMetrics([torn], { version: "0" }));
  assert.is(sampleValue(samples, "ltsh_latency_seconds_bucket", { le: "+Inf" }), 8);
  assert.is(sampleValue(samples, "ltsh_latency_seconds_count", {}), 8);
  assert.is(sampleValue(samples, "ltsh_pairs_total", {}), 7);
});

test("label values are escaped", () => {
  const text = renderMetrics([summaryOf('a"b\\c\nd', [10])], { version: "x" });
  assert.match(text, /ltsh_pairs_total\{tracker="a\\"b\\\\c\\nd"\} 1\n/);
  assert.is(sampleValue(parseExposition(text), "ltsh_pairs_total", {})!, 1);
});

test("no tracker: the families and build info only", () => {
  const samples = parseExposition(renderMetrics([], { version: "0.1.0" }));
  assert.equal(samples, [{ name: "ltsh_build_info", labels: { version: "0.1.0" }, value: 1 }]);
});

test("promtool check metrics accepts the exposition", () => {
  const text = renderMetrics([wakeup, summaryOf("irq", []), summaryOf('odd"name', [7])], {
    version: "0.1.0",
  });
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.not.ok(result.error, "promtool is installed (Debian package prometheus)");
  assert.is(result.status, 0, `promtool: ${result.stdout}${result.stderr}`);
  assert.is(`${result.stdout}${result.stderr}`.trim(), "", "no lint remark either");
});

test("at one instant of a replay, the histogram equals the NDJSON summary", async () => {
  const session = await openSession("replay", {
    listener: { hit: () => {}, warning: () => {} },
    options: {},
    replay: { path: new URL("../../examples/traces/demo.txt.gz", import.meta.url).pathname },
  });
  const source = "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us";
  for (const t of compileTrackers(source)) await session.add(t);
  await session.done!();
  const scraped = parseExposition(
    renderMetrics(
      session.stats().map((s) => s.summary),
      { version: "0" },
    ),
  );
  const [summary] = await session.close();
  assert.ok(summary.pairs > 100, "the demo trace has pairs");
  let cumulative = 0;
  for (const bucket of summary.hist) {
    cumulative += bucket.count;
    const le = String(bucket.le_ns / 1e9);
    assert.is(sampleValue(scraped, "ltsh_latency_seconds_bucket", { le }), cumulative, `le=${le}`);
  }
  assert.is(sampleValue(scraped, "ltsh_latency_seconds_bucket", { le: "+Inf" }), summary.pairs);
  assert.is(sampleValue(scraped, "ltsh_latency_seconds_count", {}), summary.pairs);
  assert.is(sampleValue(scraped, "ltsh_latency_seconds_sum", {}), summary.sum_ns / 1e9);
  assert.is(sampleValue(scraped, "ltsh_hits_total", { kind: "threshold" }), summary.hits);
  assert.ok(summary.sum_ns > 0, "replay fills the exact sum");
});

test.run();
