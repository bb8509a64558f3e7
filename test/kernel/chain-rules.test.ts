// Chain rules with deterministic workloads, live on eBPF and against replay of the same
// events recorded while the tracker ran: `capacity` (more chains waiting at once than it
// holds: the rest counted in `dropped`, exactly) and `cancel` on a chain (counted, no hit).
// Each workload is one task pinned to CPU 0 whose chains start, move and end on system calls
// with descriptors no other program uses (calls that fail with EBADF), so that no other
// process on the shared machine starts a chain. (Not a `comm` filter: a trace's text shows
// the task's name at recording's end, so the interpreter's start-up calls would match.)

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { FilePlan } from "../../src/compiler/plan.ts";
import type { SummaryRecord } from "../../src/records/types.ts";
import { compileText, output, recordDuring, replayTrace, runLive } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

/** A python task running `body` (statements, one per line) on CPU 0; `call(f, fd)` ignores EBADF. */
function task(body: string[]): string[] {
  const script = [
    "import os",
    "def call(f, fd):",
    "    try: f(fd)",
    "    except OSError: pass",
    ...body,
  ].join("\n");
  return ["taskset", "-c", "0", "python3", "-c", script];
}

const counts = (s: SummaryRecord) => {
  const { pairs, hits, dropped, pending, cancelled } = s;
  return { pairs, hits, dropped, pending, cancelled };
};

/** Live, then replay of the recording of the same run: both summaries. */
async function liveAndReplay(plan: FilePlan, events: string[], command: string[]) {
  let result: { live: SummaryRecord; replay: SummaryRecord } | null = null;
  await recordDuring(
    events,
    () => runLive(plan, () => output(command).then(() => {})),
    async (trace, live) => {
      const reference = await replayTrace(trace, plan);
      result = { live: live.summaries[0], replay: reference.summaries[0] };
    },
  );
  return result!;
}

// each chain waits in the hand-off table under its own fd until the end of the run
const capacity = `
track cap: sys_enter_fdatasync where fd == 7001
    ~> sys_enter_close(fd) where fd >= 900 && fd < 1000 -> sys_enter_fsync(fd)
    capacity 5
`;

test("capacity: 12 chains waiting at once in a tracker of 5, 7 dropped, live as replay", async () => {
  const body = [
    "for i in range(12):",
    "    call(os.fdatasync, 7001)",
    "    call(os.close, 900 + i)",
  ];
  const { live, replay } = await liveAndReplay(
    compileText(capacity),
    ["syscalls:sys_enter_fdatasync", "syscalls:sys_enter_close", "syscalls:sys_enter_fsync"],
    task(body),
  );
  const expected = { pairs: 0, hits: 0, dropped: 7, pending: 5, cancelled: 0 };
  assert.equal(counts(replay), expected, "replay");
  assert.equal(counts(live), expected, "live");
});

const cancel = `
track cx: sys_enter_fdatasync where fd == 7001
    ~> sys_enter_fsync where fd == 7003
    cancel sys_enter_close where fd == 7002
    > 1ns
`;

test("cancel on a chain: the chain held where it fires ends, counted, no hit; live as replay", async () => {
  const body = [
    "for i in range(10):",
    "    call(os.fdatasync, 7001)",
    "    if i % 2: call(os.close, 7002)",
    "    call(os.fsync, 7003)",
  ];
  const { live, replay } = await liveAndReplay(
    compileText(cancel),
    ["syscalls:sys_enter_fdatasync", "syscalls:sys_enter_fsync", "syscalls:sys_enter_close"],
    task(body),
  );
  const expected = { pairs: 5, hits: 5, dropped: 0, pending: 0, cancelled: 5 };
  assert.equal(counts(replay), expected, "replay");
  assert.equal(counts(live), expected, "live");
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/chain-rules", skip);
else test.run();
