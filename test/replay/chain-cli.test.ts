// Chain trackers as a user runs them: `ltsh run --replay` prints chain hits and summaries
// (text and --json) on a recorded trace; `ltsh check` accepts them; the live and kmod
// backends refuse them with a caret before anything is loaded.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";

const LO = "examples/chains/lo.lt";
const TRACE = "examples/chains/lo.txt.gz";

function ltsh(args: string[]) {
  const result = spawnSync(process.execPath, ["bin/ltsh.js", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("--replay: a line per chain hit with each link, then the summary with its segment", () => {
  const { status, stdout, stderr } = ltsh(["run", LO, "--replay", TRACE, "--catalog", "bundled"]);
  assert.is(status, 0, stderr);
  const hits = stdout.split("\n").filter((l) => / lo \d/.test(l));
  assert.is(hits.length, 17);
  for (const line of hits) {
    assert.match(
      line,
      /^\d+\.\d{9} lo [\d.]+us NET_RX python3 cpu\d \+0ns raise NET_RX \+\S+ softirq \S+ \+\S+ waking udp-reader-17462 \+\S+ run cpu\d$/,
    );
  }
  assert.match(stdout, "lo: 48 pairs, 17 hits, 0 timeouts, 0 dropped, 0 pending, 1 broken\n");
  assert.match(
    stdout,
    "  softirq_raise -> sched_switch: 48 pairs  p50 32.8us  p99 43us  max 43us\n",
  );
});

test("--replay --json: chain stages add up to each latency; the summary has segments", () => {
  const { status, stdout, stderr } = ltsh([
    "run",
    LO,
    "--replay",
    TRACE,
    "--json",
    "--catalog",
    "bundled",
  ]);
  assert.is(status, 0, stderr);
  const records = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const hits = records.filter((r) => r.type === "hit");
  assert.is(hits.length, 17);
  for (const hit of hits) {
    const stages = hit.chain.map((s: { stage: string }) => s.stage);
    assert.equal(stages, ["origin", "raise", "softirq", "waking", "run"]);
    const sum = hit.chain.reduce((a: number, s: { dur_ns: number }) => a + s.dur_ns, 0);
    assert.is(sum, hit.latency_ns);
    assert.ok(hit.latency_ns > 20_000);
  }
  const summary = records.at(-1);
  assert.equal([summary.pairs, summary.hits, summary.broken, summary.cancelled], [48, 17, 1, 0]);
  assert.equal(
    summary.segments.map((s: { from: string; to: string; pairs: number }) => [
      s.from,
      s.to,
      s.pairs,
    ]),
    [["softirq_raise", "sched_switch", 48]],
  );
});

test("ltsh check takes chains; compiled for kmod, each probe describes its event to lt_chain.c", () => {
  assert.is(ltsh(["check", LO, "--catalog", "bundled"]).status, 0);
  const { status, stdout, stderr } = ltsh([
    "compile",
    LO,
    "--catalog",
    "bundled",
    "--target",
    "kmod",
  ]);
  assert.is(status, 0, stderr);
  assert.match(stdout, "static const struct lt_chain_config lt_lo_chain = {");
  assert.match(stdout, "\tif (vec_nr == 3)\n\t\tev.steps |= BIT(0);");
  assert.match(stdout, "\tlt_chain_event(lt_lo_tracker.chain, &ev);");
});

test("the timer chain: one pair per period of the RT task, each a waking then a run", () => {
  const { status, stdout, stderr } = ltsh([
    "run",
    "examples/chains/timer.lt",
    "--replay",
    "examples/chains/timer.txt.gz",
    "--json",
    "--catalog",
    "bundled",
  ]);
  assert.is(status, 0, stderr);
  const records = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const summary = records.at(-1);
  assert.is(summary.pairs, 173);
  const hits = records.filter((r) => r.type === "hit");
  assert.is(hits.length, summary.hits);
  assert.ok(hits.length >= 1);
  for (const hit of hits) {
    assert.equal(
      hit.chain.map((s: { stage: string; comm: string }) => [s.stage, s.comm === "rt-sleeper"]),
      [
        ["origin", false],
        ["waking", true],
        ["run", true],
      ],
    );
    assert.ok(hit.latency_ns > 30_000);
  }
});

test("compile --emit plan shows the chain", () => {
  const { status, stdout } = ltsh(["compile", LO, "--catalog", "bundled", "--emit", "plan"]);
  assert.is(status, 0);
  const [tracker] = JSON.parse(stdout).trackers;
  assert.equal(
    tracker.chain.steps.map((s: { via: string; side: { probe: { id: string } } }) => [
      s.via,
      s.side.probe.id,
    ]),
    [
      ["origin", "irq:softirq_raise"],
      ["context", "sched:sched_switch"],
    ],
  );
  assert.is(tracker.chain.until, "run");
  assert.equal(tracker.cancels, []);
});

test.run();
