// The panels' text at a given width: the table keeps the selected tracker in view when
// there are more trackers than rows, and every line fits the width.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ChainStage, HitRecord } from "../../src/records/types.ts";
import { fit, statusLine, trackersTable, waterfallLines } from "../../src/repl/format.ts";
import type { TrackerRow } from "../../src/repl/state.ts";

function row(name: string, pairs = 0): TrackerRow {
  return {
    name,
    probes: "sched_wakeup→switch",
    thresholdNs: 200_000,
    state: "running",
    summary: {
      type: "summary",
      tracker: name,
      pairs,
      hits: 0,
      timeouts: 0,
      dropped: 0,
      pending: 0,
      min_ns: null,
      p50_ns: null,
      p99_ns: null,
      max_ns: null,
      hist: [],
      sum_ns: 0,
      missed: 0,
    },
  };
}

test("more trackers than rows: the first ones, the selected one, and how many are hidden", () => {
  const rows = ["a", "b", "c", "d", "e", "f"].map((n) => row(n));
  const lines = trackersTable(rows, "f", 79, 4);
  assert.equal(
    lines.map((l) => l.slice(0, 4)),
    ["  NA", "  a ", "  b ", "▸ f ", "  … "],
  );
  assert.is(lines.at(-1), "  … 3 more (:list)");
});

test("counters are compact and every line fits the width", () => {
  const lines = trackersTable([row("a_rather_long_tracker_name", 12_345_678)], null, 60, 5);
  for (const line of lines) assert.ok([...line].length <= 60, line);
  assert.match(lines[1], / 12\.3M /);
  const status = statusLine(
    {
      backend: "replay a-very-long-trace-file-name.txt",
      elapsedMs: 3_725_000,
      pairsPerSecond: 12_500,
      hitsPerSecond: 3,
      dropped: 0,
      feedSkipped: 0,
    },
    60,
  );
  assert.is(status, "replay a-very-long-trace-file-name.txt │ 1:02:05 │ 12.5k pa…");
  assert.is(fit("abc", 3), "abc");
  assert.is(fit("abcd", 3), "ab…");
});

function stage(name: string, dur: number, detail = "", comm = "reader"): ChainStage {
  return { stage: name, probe: "p", ts_ns: 0n, cpu: 0, tid: 7, pid: 7, comm, dur_ns: dur, detail };
}

test("a chain hit's waterfall: one bar per link, each starting where the previous ended", () => {
  const chain = [
    stage("origin", 0, "irq24"),
    stage("raise", 4_000, "NET_RX"),
    stage("softirq", 250_000, "NET_RX"),
    stage("waking", 12_000),
    stage("run", 134_000),
  ];
  const hit = { tracker: "netrx", kind: "threshold", latency_ns: 400_000, chain } as HitRecord;
  const lines = waterfallLines(hit, 80, 10);
  assert.is(lines[0], "netrx: worst recent hit 400us, 4 links");
  assert.is(lines.length, 5);
  const bars = lines.slice(1).map((l) => l.slice(l.indexOf("|") + 1, l.lastIndexOf("|")));
  const starts = bars.map((b) => b.indexOf("█"));
  const ends = bars.map((b) => b.lastIndexOf("█") + 1);
  for (let i = 1; i < bars.length; i++)
    assert.ok(Math.abs(starts[i] - ends[i - 1]) <= 1, lines[i + 1]);
  const softirq = ends[1] - starts[1];
  assert.ok(softirq > (bars[1].length * 250) / 400 - 2, "the slow link has most of the width");
  assert.match(lines[2], /^ {2}softirq NET_RX +250us \|/);
  assert.match(lines[3], /^ {2}waking reader-7 +12us \|/);
  for (const line of lines) assert.ok([...line].length <= 80, line);
  const short = waterfallLines(hit, 80, 3);
  assert.is(short.length, 3, "title and two rows");
  assert.match(short[2], /… 3 more +396us/);
});

test.run();
