// The VM session test's own checks, without a VM: a console and disk as the guest leaves
// them are read back per run, and NDJSON that breaks the output contract is caught.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { planOf } from "../kmod/support.ts";
import { latencySumProblems } from "./latency-sum.ts";
import { parseNdjson, parseSessions, type SessionRun, SLOT_BYTES } from "./session.ts";

const plan = planOf(
  "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us timeout 1s",
).trackers[0];

const context = (probe: string, ts: number, comm = "ltwork") =>
  `{"probe":"${probe}","ts_ns":${ts},"cpu":0,"tid":7,"pid":7,"comm":"${comm}"}`;
const hit = (latency: number, end = "sched:sched_switch") =>
  `{"type":"hit","tracker":"wakeup","kind":"threshold","latency_ns":${latency},"key":[131],` +
  `"begin":${context("sched:sched_wakeup", 1000)},"end":${context(end, 1000 + latency)},"snapshot":null,"stack":null}`;
const summary = `{"type":"summary","tracker":"wakeup","pairs":9,"hits":2,"timeouts":0,"dropped":0,"pending":0,"min_ns":1,"p50_ns":1,"p99_ns":1,"max_ns":1,"hist":[]}`;

test("hits on the contract and a final summary pass", () => {
  const out = parseNdjson(`${hit(300_000)}\n${hit(250_001)}\n${summary}\n`, plan);
  assert.equal(out.problems, []);
  assert.equal(
    out.hits.map((h) => [h.latency_ns, h.key, h.begin.comm]),
    [
      [300000, [131], "ltwork"],
      [250001, [131], "ltwork"],
    ],
  );
  assert.is(out.summaries[0].pairs, 9);
});

test("a hit at the threshold, a foreign end probe, bad JSON and a late summary are caught", () => {
  const text = [hit(200_000), hit(300_000, "irq:irq_handler_exit"), "{oops", summary, hit(400_000)];
  const out = parseNdjson(`${text.join("\n")}\n`, plan);
  assert.is(out.problems.length, 4);
  assert.match(out.problems[0], "not above the threshold 200000");
  assert.match(out.problems[1], "end probe irq:irq_handler_exit");
  assert.match(out.problems[2], "not JSON");
  assert.match(out.problems[3], "summary is not the last record");
});

test("a latency sum is checked against the histogram, min/max and the hits read", () => {
  // Pairs of 3, 4 (bucket le 4) and 1000 ns (le 1024): 1007 ns in all.
  const counters = {
    pairs: 3,
    min_ns: 3,
    max_ns: 1000,
    hist: [
      { le_ns: 4, count: 2 },
      { le_ns: 1024, count: 1 },
    ],
  };
  assert.equal(latencySumProblems({ ...counters, sum_ns: 1007 }, [1000]), []);
  assert.match(latencySumProblems(counters, [])[0], "no sum_ns");
  assert.match(latencySumProblems({ ...counters, sum_ns: 3000 }, [])[0], "outside the histogram");
  // Inside the buckets' bounds ([519, 1032]) but not min × 3.
  assert.match(
    latencySumProblems({ ...counters, min_ns: 200, sum_ns: 550 }, [])[0],
    "outside pairs × [min, max]",
  );
  assert.match(
    latencySumProblems({ ...counters, sum_ns: 1007 }, [1000, 500])[0],
    "below the 2 hits'",
  );
  assert.match(
    latencySumProblems({ ...counters, pairs: 4, sum_ns: 1007 }, [])[0],
    "holds 3 of 4 pairs",
  );
});

test("each run's exit, times, stderr, leftovers and stdout slot are read back", () => {
  const runs: SessionRun[] = [
    { name: "for", example: "wakeup", end: "for" },
    { name: "term", example: "wakeup", end: "SIGTERM" },
  ];
  const disk = Buffer.alloc(2 * SLOT_BYTES);
  disk.write("first\n", 0);
  disk.write("second\n", SLOT_BYTES);
  const console = [
    "@@ltsh t=2.5 session for start",
    "@@ltsh t=80.25 session for loaded",
    "@@ltsh t=86.5 session for exit rc=0",
    "@@ltsh t=86.6 session for unloaded",
    "@@ltsh session for bytes=6",
    "@@ltsh session for stderr ltsh: warning: x",
    "@@ltsh t=90 session term exit rc=143",
    "@@ltsh session term bytes=7",
    "@@ltsh session term left module lt_wakeup",
  ].join("\n");
  const [first, second] = parseSessions(console, disk, runs);
  assert.equal(
    [first.exitCode, first.stdout, first.stderr, first.leftovers],
    [0, "first\n", ["ltsh: warning: x"], []],
  );
  assert.equal(first.times, { start: 2.5, loaded: 80.25, exit: 86.5, unloaded: 86.6 });
  assert.equal(
    [second.exitCode, second.stdout, second.leftovers, second.times.unloaded],
    [143, "second\n", ["module lt_wakeup"], undefined],
  );
});

test.run();
