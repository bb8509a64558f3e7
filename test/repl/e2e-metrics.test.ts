// End to end in a real terminal (tmux): the shell replays the recorded loopback chain, a
// user types :metrics, the status line says where it serves, and a scrape of that endpoint
// gives what `ltsh run --json` gives for the same trace (pairs, broken, each segment);
// promtool accepts it; :metrics off closes it; :quit leaves nothing listening.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseExposition, sampleValue } from "../metrics/parse.ts";
import { TmuxPane, tmuxSkipReason } from "./tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CHAIN = ["examples/chains/lo.lt", "--replay", "examples/chains/lo.txt.gz"];
const LTSH = `${process.execPath} bin/ltsh.js`;
const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));

const refused = (url: string) =>
  fetch(url).then(
    () => false,
    () => true,
  );

const skip = tmuxSkipReason();
if (skip) {
  console.log(`  skip shell e2e (:metrics): ${skip}`);
} else {
  test(":metrics in tmux: the status line says where, a scrape equals run --json, off closes it", async () => {
    const run = spawnSync(process.execPath, ["bin/ltsh.js", "run", ...CHAIN, "--json"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    assert.is(summary.type, "summary", run.stderr);
    const pane = new TmuxPane(
      `cd ${ROOT} && ${LTSH} ${CHAIN.join(" ")}`,
      { XDG_STATE_HOME: "/nonexistent" },
      { columns: 120, rows: 30 },
    );
    try {
      await pane.waitFor((s) => s.includes("(ended)") && s.includes("ltsh>"), "the replay's end");
      pane.type(":metrics 127.0.0.1:0", true);
      const screen = await pane.waitFor(
        (s) => /serving metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/.test(s),
        "the endpoint's URL",
      );
      const url = /serving metrics at (http:\S+)/.exec(screen)![1];
      const host = new URL(url).host;
      await pane.waitFor((s) => s.includes(`│ metrics ${host}`), "the status line");

      const text = await (await fetch(url)).text();
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.is(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
      const samples = parseExposition(text);
      assert.is(sampleValue(samples, "ltsh_build_info", { version }), 1, "the shell's version");
      const lo = { tracker: "lo" };
      assert.is(sampleValue(samples, "ltsh_pairs_total", lo), summary.pairs);
      assert.is(sampleValue(samples, "ltsh_broken_total", lo), summary.broken);
      assert.is(sampleValue(samples, "ltsh_latency_seconds_sum", lo), summary.sum_ns / 1e9);
      for (const seg of summary.segments) {
        const labels = { ...lo, segment: `${seg.from}->${seg.to}` };
        assert.is(sampleValue(samples, "ltsh_segment_latency_seconds_count", labels), seg.pairs);
      }

      pane.type(":metrics off", true);
      await pane.waitFor((s) => s.includes(`stopped serving metrics at ${url}`), "off");
      await pane.waitFor((s) => !s.includes("│ metrics "), "the status line without metrics");
      assert.ok(await refused(url), "nothing listens after :metrics off");

      pane.type(":metrics 127.0.0.1:0", true);
      const again = await pane.waitFor(
        (s) => (s.match(/^serving metrics at http:/gm) ?? []).length >= 2,
        "serving again",
      );
      const second = [...again.matchAll(/^serving metrics at (http:\S+)/gm)].at(-1)![1];
      assert.ok(!(await refused(second)));
      pane.type(":quit", true);
      await pane.waitFor((s) => s.includes("LTSH-EXIT=0"), "the shell's exit", 20_000, true);
      assert.ok(await refused(second), "the endpoint closes with the shell");
    } finally {
      pane.kill();
    }
  });
}

test.run();
