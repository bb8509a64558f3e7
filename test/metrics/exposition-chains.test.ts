// Chain trackers in the Prometheus exposition: one histogram per segment (with its exact
// _sum), cancelled and broken counters; families a summary does not carry are left
// out; promtool accepts it; and at the end of the recorded loopback chain every segment's
// histogram equals its NDJSON summary.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderMetrics } from "../../src/metrics/exposition.ts";
import { BUCKETS, LatencyStats } from "../../src/records/stats.ts";
import type { SegmentSummary, SummaryRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { compileTrackers } from "../replay/support.ts";
import { parseExposition, sampleValue } from "./parse.ts";

const CHAINS = new URL("../../examples/chains/", import.meta.url).pathname;

function segment(from: string, to: string, latencies: number[]): SegmentSummary {
  const stats = new LatencyStats(`${from}->${to}`);
  for (const ns of latencies) stats.recordPair(ns);
  const { pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns } = stats.summary();
  return { from, to, pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns };
}

function chainSummary(tracker: string, segments: SegmentSummary[]): SummaryRecord {
  const stats = new LatencyStats(tracker);
  stats.recordPair(3000);
  return { ...stats.summary(), cancelled: 2, broken: 7, segments };
}

const plain = new LatencyStats("plain").summary();
const chain = chainSummary("lo", [
  segment("softirq_raise", "sched_wakeup", [1000, 1500, 40_000]),
  segment("sched_wakeup", "sched_switch", [200, 9000]),
]);

const types = (text: string) => [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);

test("a chain tracker adds segment histograms, cancelled and broken; a plain one does not", () => {
  const withChain = renderMetrics([plain, chain], { version: "0" });
  for (const name of [
    "ltsh_segment_latency_seconds",
    "ltsh_cancelled_total",
    "ltsh_broken_total",
  ]) {
    assert.ok(types(withChain).includes(name), name);
  }
  const samples = parseExposition(withChain);
  assert.is(sampleValue(samples, "ltsh_cancelled_total", { tracker: "lo" }), 2);
  assert.is(sampleValue(samples, "ltsh_broken_total", { tracker: "lo" }), 7);
  assert.is(sampleValue(samples, "ltsh_broken_total", { tracker: "plain" }), undefined);
  const plainOnly = renderMetrics([plain], { version: "0" });
  assert.not.match(plainOnly, /segment|cancelled|broken/);
});

test("a segment's histogram: every bucket, cumulative, +Inf = _count = its pairs, an exact _sum", () => {
  const text = renderMetrics([chain], { version: "0" });
  const samples = parseExposition(text);
  const first = { tracker: "lo", segment: "softirq_raise->sched_wakeup" };
  const second = { tracker: "lo", segment: "sched_wakeup->sched_switch" };
  const buckets = samples.filter(
    (s) => s.name === "ltsh_segment_latency_seconds_bucket" && s.labels.segment === first.segment,
  );
  assert.is(buckets.length, BUCKETS + 1);
  const le = (labels: Record<string, string>, k: number) =>
    sampleValue(samples, "ltsh_segment_latency_seconds_bucket", {
      ...labels,
      le: String(2 ** k / 1e9),
    });
  assert.is(le(first, 9), 0);
  assert.is(le(first, 10), 1, "1000ns is in (512, 1024]");
  assert.is(le(first, 11), 2, "1500ns is in (1024, 2048]");
  assert.is(le(first, 16), 3, "40us is in (32.8us, 65.5us]");
  assert.is(le(second, 8), 1, "200ns is in (128, 256]");
  assert.is(
    sampleValue(samples, "ltsh_segment_latency_seconds_bucket", { ...first, le: "+Inf" }),
    3,
  );
  assert.is(sampleValue(samples, "ltsh_segment_latency_seconds_count", first), 3);
  assert.is(sampleValue(samples, "ltsh_segment_latency_seconds_count", second), 2);
  assert.is(sampleValue(samples, "ltsh_segment_latency_seconds_sum", first), 42_500 / 1e9);
  assert.is(sampleValue(samples, "ltsh_segment_latency_seconds_sum", second), 9200 / 1e9);
});

test("a chain passing the same two probes twice gets unique segment labels", () => {
  const twice = chainSummary("loop", [
    segment("a", "b", [10]),
    segment("b", "a", [20]),
    segment("a", "b", [30]),
  ]);
  const counts = parseExposition(renderMetrics([twice], { version: "0" }))
    .filter((s) => s.name === "ltsh_segment_latency_seconds_count")
    .map((s) => s.labels.segment);
  assert.equal(counts, ["a->b", "b->a", "a->b#2"]);
});

test("promtool check metrics accepts chain trackers beside plain ones", () => {
  const text = renderMetrics([plain, chain, chainSummary('q"uote', [])], { version: "0" });
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.not.ok(result.error, "promtool is installed (Debian package prometheus)");
  assert.is(result.status, 0, `promtool: ${result.stdout}${result.stderr}`);
  assert.is(`${result.stdout}${result.stderr}`.trim(), "", "no lint remark either");
});

test("at the end of the loopback chain, each segment's histogram equals the NDJSON summary", async () => {
  const session = await openSession("replay", {
    listener: { hit: () => {}, warning: () => {} },
    options: {},
    replay: { path: `${CHAINS}lo.txt.gz` },
  });
  for (const t of compileTrackers(readFileSync(`${CHAINS}lo.lt`, "utf8"))) await session.add(t);
  await session.done!();
  const scraped = parseExposition(
    renderMetrics(
      session.stats().map((s) => s.summary),
      { version: "0" },
    ),
  );
  const [summary] = await session.close();
  assert.ok(summary.segments && summary.segments.length > 0, "lo is a chain with segments");
  assert.ok(summary.broken! > 0, "the recording has a broken chain");
  assert.is(sampleValue(scraped, "ltsh_broken_total", { tracker: "lo" }), summary.broken);
  assert.is(sampleValue(scraped, "ltsh_cancelled_total", { tracker: "lo" }), summary.cancelled);
  for (const seg of summary.segments!) {
    const labels = { tracker: "lo", segment: `${seg.from}->${seg.to}` };
    let cumulative = 0;
    for (const bucket of seg.hist) {
      cumulative += bucket.count;
      const le = String(bucket.le_ns / 1e9);
      const value = sampleValue(scraped, "ltsh_segment_latency_seconds_bucket", { ...labels, le });
      assert.is(value, cumulative, `${labels.segment} le=${le}`);
    }
    assert.ok(seg.pairs > 0);
    assert.is(sampleValue(scraped, "ltsh_segment_latency_seconds_count", labels), seg.pairs);
  }
});

test.run();
