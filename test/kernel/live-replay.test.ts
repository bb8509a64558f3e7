// Differential test against the reference semantics: while trackers run live, the same
// events are recorded through a tracefs instance; replaying the recording with the
// interpreter must give the same pairs and hits (the workload starts after both are
// recording and filters select only its tasks, so the window's edges hold none of it).
// Syscall events only: this kernel's ftrace does not record sched_switch away from the
// idle task on some CPUs (BPF sees those), so scheduler trackers cannot be compared here.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TracefsInstance } from "../../src/kernel/tracefs.ts";
import type { HitRecord } from "../../src/records/types.ts";
import {
  compileText,
  namedCopy,
  namedSleep,
  replayTrace,
  run,
  runLive,
  sleep,
} from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const source = `
track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_diff"
    -> sys_exit_clock_nanosleep($tid) > 5ms
track writes: sys_enter_write($tid, fd) where comm == "ltsh_diff" && count > 3 && !(fd == 2)
    -> sys_exit_write($tid, 1) where ret >= 5 || ret == 4
    keep last
`;

// writes of 1..12 bytes to fd 1, and one to fd 2 (filtered out at the begin)
const perl = 'syswrite(STDOUT, "x" x $_) for 1..12; syswrite(STDERR, "y" x 9);';

test("live and replay of the same events agree on pairs and hits", async () => {
  const plan = compileText(source);
  const sleeper = namedSleep("ltsh_diff");
  const writer = namedCopy("/usr/bin/perl", "ltsh_diff");
  const dir = mkdtempSync(join(tmpdir(), "ltsh-diff-"));
  const recording = TracefsInstance.create({
    purpose: "difftest",
    bufferKiB: 8192,
    overwrite: false,
  });
  try {
    const { events } = recording.resolveEvents([
      "syscalls:sys_enter_write",
      "syscalls:sys_exit_write",
      "syscalls:sys_enter_clock_nanosleep",
      "syscalls:sys_exit_clock_nanosleep",
    ]);
    recording.enableEvents(events);
    recording.resume();
    const live = await runLive(plan, async () => {
      for (let i = 0; i < 5; i++) await run([sleeper.path, "0.01"]);
      await run([writer.path, "-e", perl]);
      await sleep(20);
    });
    recording.freeze();
    await sleep(50); // writes already in flight on other CPUs land before we read
    assert.is(recording.bufferStats().dropped, 0, "the recording kept every event");
    const tracePath = join(dir, "trace.txt");
    writeFileSync(tracePath, recording.readTrace());
    const reference = await replayTrace(tracePath, plan);
    // to look at a failure: LTSH_KEEP_TRACE=FILE keeps the recording
    if (process.env.LTSH_KEEP_TRACE)
      writeFileSync(process.env.LTSH_KEEP_TRACE, readFileSync(tracePath));

    const counts = (s: typeof live.summaries) =>
      s.map((x) => [x.tracker, x.pairs, x.hits, x.timeouts]);
    assert.equal(
      counts(live.summaries),
      counts(reference.summaries),
      JSON.stringify([counts(live.summaries), counts(reference.summaries)]),
    );
    assert.is(live.summaries[0].pairs, 5, "one nap per sleeper");
    assert.is(live.summaries[1].pairs, 9, "writes of 4..12 bytes to fd 1");
    const naps = (hits: HitRecord[]) => hits.filter((h) => h.tracker === "nap");
    assert.equal(
      naps(live.hits).map((h) => h.key),
      naps(reference.hits).map((h) => h.key),
    );
    naps(live.hits).forEach((h, i) => {
      const other = naps(reference.hits)[i];
      // the trace prints microseconds, and BPF reads its clock a moment after ftrace does
      assert.ok(
        Math.abs(h.latency_ns - other.latency_ns) < 50_000,
        `${h.latency_ns} vs ${other.latency_ns}`,
      );
      assert.equal(
        [h.begin.pid, h.begin.comm, h.end?.pid],
        [other.begin.pid, other.begin.comm, other.end?.pid],
      );
    });
  } finally {
    recording.remove();
    sleeper.remove();
    writer.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-replay", skip);
else test.run();
