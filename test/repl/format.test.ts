// The panels' text at a given width: the table keeps the selected tracker in view when
// there are more trackers than rows, and every line fits the width.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { fit, statusLine, trackersTable } from "../../src/repl/format.ts";
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

test.run();
