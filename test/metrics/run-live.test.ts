// `ltsh run FILE.lt --metrics` live: GET /metrics while the run goes on, counters that grow
// between scrapes, an exposition promtool accepts; the endpoint closes with the run.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelSkipReason, reportSkip } from "../kernel/support.ts";
import { EXAMPLES, scrape, startLtsh } from "./child.ts";
import { parseExposition, sampleValue } from "./parse.ts";

const skip = kernelSkipReason();
if (skip) reportSkip("ltsh run --metrics (live)", skip);
else {
  test("ltsh run --metrics serves the live counters while it runs", async () => {
    const ltsh = startLtsh([
      "run",
      `${EXAMPLES}wakeup.lt`,
      "--for",
      "4s",
      "--json",
      "--metrics",
      "127.0.0.1:0",
    ]);
    try {
      const url = await ltsh.metricsUrl();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const first = await scrape(url);
      const check = spawnSync("promtool", ["check", "metrics"], { input: first, encoding: "utf8" });
      assert.is(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const second = parseExposition(await scrape(url));
      const pairs = (text: ReturnType<typeof parseExposition>) =>
        sampleValue(text, "ltsh_pairs_total", { tracker: "wakeup" })!;
      assert.ok(pairs(second) > pairs(parseExposition(first)), "pairs grow between scrapes");
      assert.is(
        sampleValue(second, "ltsh_latency_seconds_count", { tracker: "wakeup" }),
        pairs(second),
      );
      assert.is(await ltsh.exited, 0);
      const summary = JSON.parse(ltsh.output.stdout.trim().split("\n").at(-1)!);
      assert.is(summary.type, "summary");
      assert.ok(summary.pairs >= pairs(second), "the final summary counts at least as much");
      await fetch(url).then(
        () => assert.unreachable("still serving after the run"),
        () => {},
      );
    } finally {
      await ltsh.kill();
    }
  });
}

test.run();
