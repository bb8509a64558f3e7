// The session-facing snapshot action: the recorder exists only once a tracker asks for
// snapshots, only that tracker's hits get one, and skipped snapshots are reported at close.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import { SnapshotAction } from "../../src/session/snapshot-session.ts";
import type { HitRecord } from "../../src/session/types.ts";
import { ltshInstances, reportSkip, snapshotPlan, tracefsSkipReason } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "ltsh-snapsession-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function hitNow(tracker: string): HitRecord {
  const now = process.hrtime.bigint();
  const ctx = (ts: bigint) => ({
    probe: "sched:sched_switch",
    ts_ns: ts,
    cpu: 0,
    tid: 1,
    pid: 1,
    comm: "x",
  });
  return {
    type: "hit",
    tracker,
    kind: "timeout",
    latency_ns: 2000,
    key: [1n],
    begin: ctx(now - 2000n),
    end: null,
    snapshot: null,
    stack: null,
  };
}

test("only trackers with `then snapshot` start the recorder and get snapshot paths", async () => {
  const warnings: string[] = [];
  const action = new SnapshotAction({ "snapshot.dir": dir, "snapshot.margin": 0 }, (w) =>
    warnings.push(w),
  );
  const printOnly = {
    ...snapshotPlan("quiet", "sched:sched_switch", "sched:sched_switch"),
    actions: [],
  };
  action.add(printOnly);
  assert.deepEqual(ltshInstances(process.pid), [], "no recorder for a tracker without snapshot");
  action.add(snapshotPlan("loud", "sched:sched_waking", "sched:sched_switch"));
  assert.deepEqual(ltshInstances(process.pid), [`ltsh-${process.pid}-snapshot`]);

  assert.equal((await action.fill(hitNow("quiet"))).snapshot, null);
  const first = await action.fill(hitNow("loud"));
  assert.match(first.snapshot ?? "", /loud-\d+\.txt$/);
  assert.equal((await action.fill(hitNow("loud"))).snapshot, null, "rate-limited");
  assert.equal((await action.fill(hitNow("loud"))).snapshot, null, "rate-limited");
  assert.equal(action.skipped("loud"), 2);

  await action.close();
  assert.deepEqual(ltshInstances(process.pid), []);
  assert.deepEqual(warnings, [
    "loud: 2 snapshots skipped by the rate limit (snapshot.rate = 1 per second)",
  ]);
});

const skip = tracefsSkipReason();
if (skip !== null) reportSkip("snapshot/session", skip);
else test.run();
