// `ltsh run --replay` as a user runs it: NDJSON on stdout, hits and summaries for people,
// stdin with gzip, and exit codes for a bad program, a bad trace and bad usage.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";

const dir = mkdtempSync(join(tmpdir(), "ltsh-cli-"));

function ltsh(args: string[], input?: Buffer) {
  const result = spawnSync(process.execPath, ["bin/ltsh.js", ...args], { input, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("--json: one hit record per line, then one summary per tracker; stdin with gzip", () => {
  const trace = gzipSync(readFileSync("test/fixtures/traces/wakeup.txt"));
  const { status, stdout, stderr } = ltsh(
    ["run", "examples/wakeup.lt", "--replay", "-", "--json", "--catalog", "bundled"],
    trace,
  );
  assert.is(status, 0, stderr);
  const records = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const summary = records.at(-1);
  assert.is(summary.type, "summary");
  assert.is(summary.tracker, "wakeup");
  assert.is(records.filter((r) => r.type === "hit").length, summary.hits + summary.timeouts);
  assert.ok(summary.hits > 10);
  assert.ok(records.slice(0, -1).every((r) => r.type === "hit" && r.latency_ns > 200_000));
});

test("for people: hit lines, then the summary with its histogram", () => {
  const { status, stdout } = ltsh([
    "run",
    "examples/wakeup.lt",
    "--replay",
    "test/fixtures/traces/wakeup.perf-ns.txt",
    "--catalog",
    "bundled",
  ]);
  assert.is(status, 0);
  const lines = stdout.split("\n");
  assert.match(
    lines[0],
    /^\d+\.\d{9} wakeup \d+(\.\d+)?(us|ms) key=\d+ \(\S+\) \S+-\d+ cpu\d -> \S+-\d+ cpu\d$/,
  );
  assert.match(
    stdout,
    /\nwakeup: \d+ pairs, \d+ hits, 0 timeouts, 0 dropped, 0 pending\n {2}min \S+ {2}p50 \S+ {2}p99 \S+ {2}max \S+\n/,
  );
  assert.match(stdout, /\]\s+\d+ \|█+ *\|\n/);
});

test("for people: a tracker that only snapshots still says where each snapshot went", () => {
  const program = join(dir, "snap.lt");
  const snapshots = join(dir, "snaps");
  writeFileSync(
    program,
    `set snapshot.dir = "${snapshots}"\n` +
      "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 5ms then snapshot\n",
  );
  const { status, stdout, stderr } = ltsh([
    "run",
    program,
    "--replay",
    "test/fixtures/traces/wakeup.txt",
    "--catalog",
    "bundled",
  ]);
  assert.is(status, 0, stderr);
  const hitLines = stdout.split("\n").filter((line) => / wakeup \S+ key=/.test(line));
  assert.ok(hitLines.length > 0, stdout);
  for (const line of hitLines) {
    const path = /snapshot=(\S+)$/.exec(line)?.[1];
    assert.ok(path?.startsWith(snapshots), line);
    assert.match(readFileSync(path as string, "utf8"), /sched_switch/);
  }
});

test("a program error is file:line:col with a caret, exit 1; a foreign trace, exit 1", () => {
  const bad = join(dir, "bad.lt");
  writeFileSync(bad, "track sched_wakeup(pid) -> sched_swich(next_pid)\n");
  const program = ltsh([
    "run",
    bad,
    "--replay",
    "test/fixtures/traces/wakeup.txt",
    "--catalog",
    "bundled",
  ]);
  assert.is(program.status, 1);
  assert.match(program.stderr, /bad\.lt:1:\d+: error: .*sched_swich/);
  assert.match(program.stderr, /\^/);
  const foreign = ltsh([
    "run",
    "examples/wakeup.lt",
    "--replay",
    "package.json",
    "--catalog",
    "bundled",
  ]);
  assert.is(foreign.status, 1);
  assert.match(foreign.stderr, /^ltsh run: error: package\.json:1: not a trace ltsh can read/);
  assert.not.match(foreign.stderr, /at .*\.ts:\d+/, "no stack trace");
});

test("bad usage exits 2", () => {
  const usage = ltsh(["run", "examples/wakeup.lt", "--replay", "x", "--format", "pcap"]);
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /--format must be one of ftrace, perf, babeltrace/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
