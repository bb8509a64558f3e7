// A file's trackers on live eBPF are all loaded before any is attached (LiveSession.loadAll):
// the verifier's time for one tracker blocks the reader, and a tracker attached before it
// would fill the ring meanwhile. In test:vm's guest (TCG), chains.lt's third tracker took
// 2.5 s to load, and the first two lost 252 and 261 hits to the full ring while it did.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { FilePlan } from "../../src/compiler/plan.ts";
import { LiveSession } from "../../src/session/live.ts";
import { LiveTracker } from "../../src/session/live-tracker.ts";
import { compileText, openBpfFds } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

/** A live session, and the plan's trackers compiled for it. */
async function opened(plan: FilePlan) {
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  const artifacts = await Promise.all(plan.trackers.map((t) => session.compile(t)));
  return { session, artifacts };
}

test("loadAll: every tracker's programs are loaded before the first is attached", async () => {
  const plan = compileText(`
track a: sched_waking(pid) -> sched_switch(next_pid) > 1s
track b: sys_enter_getppid($tid) -> sys_exit_getppid($tid) > 1s
track c: softirq_raise where vec == 3 ~> sched_switch where next_comm == "nobody" > 1s
`);
  const calls: string[] = [];
  const { load, attach } = LiveTracker.prototype;
  LiveTracker.prototype.load = function (this: LiveTracker) {
    calls.push(`load ${this.name}`);
    load.call(this);
  };
  LiveTracker.prototype.attach = function (this: LiveTracker) {
    calls.push(`attach ${this.name}`);
    attach.call(this);
  };
  const { session, artifacts } = await opened(plan);
  try {
    await session.loadAll(artifacts);
    assert.equal(calls, ["load a", "load b", "load c", "attach a", "attach b", "attach c"]);
    assert.equal(
      session.stats().map((s) => [s.tracker, s.running]),
      [
        ["a", true],
        ["b", true],
        ["c", true],
      ],
    );
  } finally {
    LiveTracker.prototype.load = load;
    LiveTracker.prototype.attach = attach;
    await session.close();
  }
});

test("a tracker that fails to load: its error, and nothing is left loaded after close", async () => {
  const before = openBpfFds();
  const plan = compileText(`
track a: sched_waking(pid) -> sched_switch(next_pid) > 1s
track b: sys_enter_getppid($tid) -> sys_exit_getppid($tid) > 1s
`);
  const { load } = LiveTracker.prototype;
  LiveTracker.prototype.load = function (this: LiveTracker) {
    if (this.name === "b") throw new Error("b: the verifier said no");
    load.call(this);
  };
  const { session, artifacts } = await opened(plan);
  try {
    const failure = await session.loadAll(artifacts).then(
      () => null,
      (error: Error) => error.message,
    );
    assert.is(failure, "b: the verifier said no");
  } finally {
    LiveTracker.prototype.load = load;
    await session.close();
  }
  assert.equal(openBpfFds(), before);
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-load-all", skip);
else test.run();
