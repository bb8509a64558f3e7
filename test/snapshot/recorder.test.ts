// The flight recorder on the running kernel: its instance, the window a capture writes for a
// hit (synthetic here, taken from the instance's own trace), the rate limit, and close.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "uvu";
import { eventTimestampNs } from "../../src/records/snapshot-note.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { CLOCK_SLACK_NS, FlightRecorder } from "../../src/session/snapshot.ts";
import {
  eventLines,
  instanceTrace,
  replayHits,
  reportSkip,
  snapshotPlan,
  tracefsSkipReason,
} from "./support.ts";

const TRACKER = "nap";
const MARGIN_NS = 2_000_000n;
const dir = mkdtempSync(join(tmpdir(), "ltsh-snap-"));
const warnings: string[] = [];
let recorder: FlightRecorder;

/** A hit of `sleep` from the recorder's own trace; sub-µs parts stand in for the BPF clock. */
function sleepHit(instanceDir: string, pid: number): HitRecord {
  const text = instanceTrace(instanceDir);
  const [enter] = eventLines(text, "sched_process_exec", pid);
  const [exit] = eventLines(text, "sched_process_exit", pid);
  assert.ok(enter && exit, `sleep ${pid}'s exec and exit are in the recorder`);
  const context = (probe: string, ts: bigint) => ({
    probe,
    ts_ns: ts,
    cpu: 0,
    tid: pid,
    pid,
    comm: "sleep",
  });
  const begin = context("sched:sched_process_exec", enter.ns + 345n);
  const end = context("sched:sched_process_exit", exit.ns + 678n);
  return {
    type: "hit",
    tracker: TRACKER,
    kind: "threshold",
    latency_ns: Number(end.ts_ns - begin.ts_ns),
    key: [BigInt(pid)],
    begin,
    end,
    snapshot: null,
    stack: null,
  };
}

function runSleep(seconds: string): number {
  const out = execFileSync("sh", ["-c", `sleep ${seconds} & echo $!; wait`], { encoding: "utf8" });
  return Number(out.trim());
}

test.before(() => {
  recorder = FlightRecorder.start({
    options: {
      "snapshot.dir": dir,
      "snapshot.margin": Number(MARGIN_NS),
      "snapshot.buffer": 2 << 20,
    },
    warn: (message) => warnings.push(message),
  });
  recorder.track(snapshotPlan(TRACKER, "sched:sched_process_exec", "sched:sched_process_exit"));
});

test.after(async () => {
  await recorder.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the instance records in overwrite mode with the mono clock and the tracker's events", () => {
  const d = recorder.instanceDir;
  assert.equal(basename(d), `ltsh-${process.pid}-snapshot`);
  assert.match(readFileSync(join(d, "trace_clock"), "utf8"), /\[mono\]/);
  assert.equal(readFileSync(join(d, "options/overwrite"), "utf8").trim(), "1");
  assert.equal(readFileSync(join(d, "tracing_on"), "utf8").trim(), "1");
  const enabled = readFileSync(join(d, "set_event"), "utf8").split("\n");
  for (const id of ["sched:sched_switch", "irq:softirq_entry", "sched:sched_process_exec"]) {
    assert.ok(enabled.includes(id), `${id} enabled`);
  }
  // 2 MiB in total, shared out per CPU.
  const perCpu = Number(readFileSync(join(d, "buffer_size_kb"), "utf8").trim().split(" ")[0]);
  assert.ok(perCpu > 0 && perCpu <= 2048, `buffer_size_kb ${perCpu}`);
});

test("a capture writes the hit's window, begin and end events included, and resumes", async () => {
  const pid = runSleep("0.03");
  const hit = sleepHit(recorder.instanceDir, pid);
  const path = await recorder.capture(hit);
  assert.equal(path, join(dir, `${TRACKER}-${hit.begin.ts_ns}.txt`));
  const text = readFileSync(path as string, "utf8");
  assert.match(text.split("\n")[0] as string, /^# tracer: nop/);
  const begins = eventLines(text, "sched_process_exec", pid);
  const ends = eventLines(text, "sched_process_exit", pid);
  assert.equal(begins.length, 1);
  assert.equal(ends.length, 1);
  // Equal to the hit's timestamps at the trace's µs resolution.
  assert.equal((begins[0] as { ns: bigint }).ns / 1000n, hit.begin.ts_ns / 1000n);
  assert.equal((ends[0] as { ns: bigint }).ns / 1000n, (hit.end?.ts_ns as bigint) / 1000n);
  const stamps = text
    .split("\n")
    .map(eventTimestampNs)
    .filter((ns): ns is bigint => ns !== null);
  assert.ok(stamps.length > 2, "context events kept");
  // The capture widens its window by CLOCK_SLACK_NS beyond the margin on each side.
  const from = hit.begin.ts_ns - MARGIN_NS - CLOCK_SLACK_NS;
  const to = (hit.end?.ts_ns as bigint) + MARGIN_NS + CLOCK_SLACK_NS;
  for (const ns of stamps) {
    assert.ok(ns >= from && ns <= to, `event at ${ns} ns outside the window [${from}, ${to}]`);
  }
  assert.match(
    text,
    new RegExp(`entries-in-buffer/entries-written: ${stamps.length}/${stamps.length}`),
  );
  assert.equal(readFileSync(join(recorder.instanceDir, "tracing_on"), "utf8").trim(), "1");
  assert.deepEqual(warnings, []);

  // The snapshot replays to the same pair: same key, same latency at µs resolution.
  const replayed = await replayHits(
    `track nap: sched_process_exec(args.pid) where args.pid == ${pid} -> sched_process_exit(args.pid) > 1ms`,
    path as string,
  );
  assert.deepEqual(replayed.warnings, []);
  assert.equal(replayed.hits.length, 1);
  const again = replayed.hits[0] as HitRecord;
  assert.deepEqual(again.key, hit.key);
  assert.ok(
    Math.abs(again.latency_ns - hit.latency_ns) < 1000,
    `${again.latency_ns} vs ${hit.latency_ns}`,
  );
});

test("the rate limit skips hits within a second of the last snapshot and counts them", async () => {
  const pid = runSleep("0.01");
  const hit = sleepHit(recorder.instanceDir, pid);
  const shifted = (ns: bigint): HitRecord => ({
    ...hit,
    begin: { ...hit.begin, ts_ns: hit.begin.ts_ns + ns },
    end: hit.end && { ...hit.end, ts_ns: hit.end.ts_ns + ns },
  });
  // The previous test's snapshot was a moment ago: this hit and one 0.5 s later are skipped.
  assert.equal(await recorder.capture(hit), null);
  assert.equal(recorder.skipped(TRACKER), 1);
  assert.deepEqual(recorder.skippedWarnings(), [
    `${TRACKER}: 1 snapshot skipped by the rate limit (snapshot.rate = 1 per second)`,
  ]);
  const earlier = shifted(-1_500_000_000n);
  assert.equal(await recorder.capture(earlier), null, "older than the last snapshot: skipped too");
  assert.equal(recorder.skipped(TRACKER), 2);
  // The limit is per tracker: another tracker's hit at the same moment is written.
  const other = await recorder.capture({ ...hit, tracker: "other" });
  assert.equal(other, join(dir, `other-${hit.begin.ts_ns}.txt`));
  assert.equal(recorder.skipped("other"), 0);
});

test("a timeout's window runs to begin + time waited, and an existing file is not replaced", async () => {
  const pid = runSleep("0.02");
  const pair = sleepHit(recorder.instanceDir, pid);
  const waited = Number((pair.end?.ts_ns as bigint) - pair.begin.ts_ns) - 5_000_000;
  const timeout: HitRecord = {
    ...pair,
    tracker: "late",
    kind: "timeout",
    latency_ns: waited,
    end: null,
  };
  const path = await recorder.capture(timeout);
  assert.equal(path, join(dir, `late-${timeout.begin.ts_ns}.txt`));
  const text = readFileSync(path as string, "utf8");
  assert.equal(eventLines(text, "sched_process_exec", pid).length, 1);
  // The exit came 5 ms after the deadline: beyond the 2 ms margin, so not in the window.
  assert.equal(eventLines(text, "sched_process_exit", pid).length, 0);
  const last = text
    .split("\n")
    .map(eventTimestampNs)
    .filter((ns): ns is bigint => ns !== null)
    .pop() as bigint;
  assert.ok(last <= timeout.begin.ts_ns + BigInt(waited) + MARGIN_NS + CLOCK_SLACK_NS);

  // A file already named like the next snapshot is kept; the snapshot takes a numbered name.
  const taken = join(dir, `dup-${timeout.begin.ts_ns}.txt`);
  writeFileSync(taken, "keep me");
  const dup = await recorder.capture({ ...timeout, tracker: "dup" });
  assert.equal(dup, join(dir, `dup-${timeout.begin.ts_ns}-2.txt`));
  assert.equal(readFileSync(taken, "utf8"), "keep me");
  assert.equal(await recorder.capture(timeout), null, "rate-limited");
});

test("a window over the time the recorder was frozen for another snapshot is a warning", async () => {
  const before = warnings.length;
  const now = process.hrtime.bigint();
  const ctx = {
    probe: "sched:sched_switch",
    ts_ns: now - 3_000_000_000n,
    cpu: 0,
    tid: 1,
    pid: 1,
    comm: "x",
  };
  const spanning: HitRecord = {
    type: "hit",
    tracker: "gap",
    kind: "timeout",
    latency_ns: 3_000_000_000,
    key: [1n],
    begin: ctx,
    end: null,
    snapshot: null,
    stack: null,
  };
  assert.ok(await recorder.capture(spanning));
  const added = warnings.slice(before);
  const gap =
    /^gap: the snapshot has a gap of [\d.]+m?s while the recorder was frozen for the previous snapshot/;
  assert.equal(added.filter((w) => gap.test(w)).length, 1, added.join("\n"));
  // A 3 s window may also be older than the 2 MiB buffer holds on a busy machine: said too.
  for (const w of added) assert.match(w, /^gap: the snapshot (has a gap|misses the start)/);
});

test("close removes the instance and reports the skipped snapshots as a warning", async () => {
  const d = recorder.instanceDir;
  await recorder.close();
  assert.equal(existsSync(d), false);
  assert.deepEqual(
    warnings.filter((w) => w.includes("rate limit")),
    [
      `${TRACKER}: 2 snapshots skipped by the rate limit (snapshot.rate = 1 per second)`,
      "late: 1 snapshot skipped by the rate limit (snapshot.rate = 1 per second)",
    ],
  );
  assert.equal(await recorder.capture(sleepHitFallback()), null);
});

function sleepHitFallback(): HitRecord {
  const ctx = { probe: "a:b", ts_ns: 1n, cpu: 0, tid: 1, pid: 1, comm: "x" };
  return {
    type: "hit",
    tracker: "late",
    kind: "timeout",
    latency_ns: 1,
    key: [],
    begin: ctx,
    end: null,
    snapshot: null,
    stack: null,
  };
}

const skip = tracefsSkipReason();
if (skip !== null) reportSkip("snapshot/recorder", skip);
else test.run();
