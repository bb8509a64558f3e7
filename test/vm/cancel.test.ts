// The cancel scenario's reference, outside QEMU: the replayed `ltwork cancel N` sequence
// gives one pair per round, and one cancel per odd round; without the cancel clause the
// odd rounds' pairs start at their first getppid instead (the begin the cancel forgets).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileFile } from "../../src/compiler/compile.ts";
import { cancelTrace, replayCancel } from "./cancel.ts";

const file = new URL("./programs/forget.lt", import.meta.url).pathname;

function plan(withCancel: boolean) {
  const { plan } = compileFile(file, { backend: "kmod" });
  if (!plan) throw new Error("forget.lt does not compile");
  const tracker = plan.trackers[0];
  return withCancel ? tracker : { ...tracker, cancels: [] };
}

test("the trace is ltwork's sequence: getuid on odd rounds only", () => {
  const calls = cancelTrace(2, 7).map((l) => /sys_(\w+)\(\)$/.exec(l)?.[1]);
  assert.equal(calls, ["getppid", "getppid", "getpid", "getppid", "getuid", "getppid", "getpid"]);
});

test("100 rounds: 100 pairs, 50 cancelled, nothing pending; 1 µs pairs after a cancel", () => {
  const s = replayCancel(plan(true), 100);
  assert.equal([s.pairs, s.cancelled, s.pending, s.sum_ns], [100, 50, 0, 50 * 2000 + 50 * 1000]);
  const plain = replayCancel(plan(false), 100);
  assert.equal([plain.pairs, plain.cancelled, plain.sum_ns], [100, 0, 100 * 2000 + 50 * 1000]);
});

test.run();
