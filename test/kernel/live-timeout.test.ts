// Timeouts live: a begin whose end never comes in time gives exactly one timeout hit, found
// by the user-space sweep soon after the deadline, or by the end program itself when the
// end arrives late before the sweep ran (the test blocks the event loop to force that).

import { execFileSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileText, namedSleep, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

for (const table of ["set-associative", "hash"] as const) {
  test(`timeouts (${table} table): swept after the deadline, or judged late by the end program`, async () => {
    const sleeper = namedSleep("ltsh_late");
    const plan = compileText(`
track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_late"
    -> sys_exit_clock_nanosleep($tid) timeout 20ms then stack
`);
    plan.options = { ...plan.options, "pending.table": table };
    let swept = 0;
    let late = 0;
    try {
      const { hits, summaries } = await runLive(plan, async () => {
        swept = await run([sleeper.path, "0.1"]); // the event loop runs: the sweep finds it
        execFileSync(sleeper.path, ["0.1"]); // blocked: the end comes before any sweep
        await sleep(30);
      });
      const [summary] = summaries;
      assert.equal([summary.pairs, summary.hits, summary.timeouts, summary.pending], [0, 0, 2, 0]);
      assert.is(hits.length, 2);
      const [first, second] = hits;
      for (const h of hits) {
        assert.is(h.kind, "timeout");
        assert.is(h.end, null);
        assert.is(h.begin.comm, "ltsh_late");
        assert.ok(h.stack !== null && h.stack.length > 0, "the begin's kernel stack");
      }
      assert.equal(first.key, [BigInt(swept)]);
      assert.ok(
        first.latency_ns > 20e6 && first.latency_ns < 80e6,
        `swept after ${first.latency_ns} ns`,
      );
      late = Number(second.key[0]);
      assert.ok(late !== swept && second.begin.pid === late);
      assert.ok(second.latency_ns >= 100e6, `judged late at ${second.latency_ns} ns`);
    } finally {
      sleeper.remove();
    }
  });
}

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-timeout", skip);
else test.run();
