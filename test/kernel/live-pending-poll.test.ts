// Polled stats (the shell, a Prometheus scrape) report pending begins counted in the
// background, not by the poll itself: a scrape of many trackers must not scan every pending
// table at once. The count a poll reports is at most about a second old.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { LiveSession } from "../../src/session/live.ts";
import { compileText, namedCopy, run, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

// Each writer's write begins a pair whose end (a read of fd 99999) never comes.
const source = `
track hold: sys_enter_write($tid, fd) where comm == "ltsh_hold"
    -> sys_enter_read($tid, fd) where fd == 99999
`;

test("a poll's pending count is refreshed in the background, not by the poll", async () => {
  const plan = compileText(source);
  const writer = namedCopy("/usr/bin/perl", "ltsh_hold");
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    const writers = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () => run([writer.path, "-e", 'syswrite(STDOUT, "")'])),
      );
    await writers(3);
    const pending = () => session.stats()[0].summary.pending;
    assert.is(pending(), 3, "the first poll counts");
    await writers(4);
    assert.is(pending(), 3, "a poll right after reuses the recent count");
    await sleep(1500); // past PENDING_REFRESH_MS, within twice it: only the refresher counts
    assert.is(pending(), 7, "counted again in the background");
    const [summary] = await session.close();
    assert.is(summary.pending, 7, "the final summary counts exactly");
  } finally {
    writer.remove();
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-pending-poll", skip);
else test.run();
