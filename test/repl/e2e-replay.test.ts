// End to end in a real terminal (tmux, 80x24): the shell on a recorded trace. A user types
// a tracker with a typo, sees the caret, fixes it, sees hits and the histogram, saves,
// quits; the saved file checks clean and `ltsh run --replay` gives the same summary.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TmuxPane, tmuxSkipReason } from "./tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURE = "test/fixtures/traces/wakeup.txt";
const LTSH = `${process.execPath} bin/ltsh.js`;

function ltsh(...args: string[]) {
  return spawnSync(process.execPath, ["bin/ltsh.js", ...args], { cwd: ROOT, encoding: "utf8" });
}

/** The summary block `formatSummary` prints: from "NAME: N pairs" to the last bar. */
function summaryOf(text: string, tracker: string): string {
  const lines = text.split("\n").map((l) => l.trimEnd());
  const start = lines.findIndex((l) => l.startsWith(`${tracker}: `) && l.includes(" pairs, "));
  if (start < 0) return "";
  let end = start + 1;
  while (end < lines.length && lines[end].startsWith("  ")) end++;
  return lines.slice(start, end).join("\n");
}

const skip = tmuxSkipReason();
if (skip) {
  console.log(`  skip shell e2e (replay): ${skip}`);
} else {
  test("replay in tmux: typo with caret, fix, hits, histogram, :save, :quit; the file replays the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-e2e-"));
    const saved = join(dir, "saved.lt");
    const pane = new TmuxPane(`cd ${ROOT} && ${LTSH} --replay ${FIXTURE}`, { XDG_STATE_HOME: dir });
    try {
      await pane.waitFor((s) => s.includes("ltsh>"), "the prompt");
      pane.type("track wakeup: sched_wakup(args.pid) -> sched_switch(next_pid) > 100us", true);
      let screen = await pane.waitFor((s) => s.includes("unknown tracepoint"), "the error");
      assert.match(screen, /<prompt>:1:15: error: unknown tracepoint 'sched_wakup'/);
      assert.match(screen, /\n\s+\|\s{15}\^~{10}\n/);
      assert.match(screen, /ltsh> track wakeup: sched_wakup\(args\.pid\)/);
      // Fix it in place: Home, then past "track wakeup: sched_wak", insert the missing "e".
      pane.keys("Home", ...Array(23).fill("Right"));
      pane.type("e", true);
      screen = await pane.waitFor(
        (s) => /▸ wakeup .* 418 /.test(s) && s.includes("(ended)"),
        "the tracker's row with its pairs, the trace ended",
      );
      await pane.waitFor(
        (s) => /\n\d+\.\d{9} wakeup \S+ key=\d+ /.test(s),
        "a hit line above the panels",
        5000,
        true,
      );
      assert.match(screen, /\(512ns, 1\.02us\] 143 \|█+ *\|/, "the histogram");
      assert.match(screen, /replay wakeup\.txt \(ended\)/, screen);
      for (const line of screen.split("\n")) assert.ok([...line].length <= 80, line);
      pane.type(`:save ${saved}`, true);
      await pane.waitFor(
        (s) => s.includes(`saved 1 trackers to ${saved}`),
        "the save",
        20_000,
        true,
      );
      pane.type(":quit", true);
      const all = await pane.waitFor((s) => s.includes("LTSH-EXIT="), "the exit", 20_000, true);
      assert.match(all, /LTSH-EXIT=0/);

      const check = ltsh("check", saved);
      assert.is(check.status, 0, check.stderr);
      assert.is(check.stderr + check.stdout, "");
      const run = ltsh("run", saved, "--replay", FIXTURE);
      assert.is(run.status, 0, run.stderr);
      const shellSummary = summaryOf(all, "wakeup");
      assert.match(shellSummary, /^wakeup: 418 pairs, 77 hits/);
      assert.is(shellSummary, summaryOf(run.stdout, "wakeup"));
      const history = readFileSync(join(dir, "ltsh", "history"), "utf8");
      assert.match(
        history,
        /^track wakeup: sched_wakup.*\ntrack wakeup: sched_wakeup.*\n:save .*\n:quit\n$/,
      );
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

if (!skip) {
  test("ltsh FILE.lt --replay: the file's trackers run from the start; a resize keeps lines within the width", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-e2e-"));
    const pane = new TmuxPane(`cd ${ROOT} && ${LTSH} examples/wakeup.lt --replay ${FIXTURE}`, {
      XDG_STATE_HOME: dir,
    });
    try {
      await pane.waitFor((s) => /▸ wakeup .* 200us +\d+ /.test(s), "the file's tracker");
      let screen = pane.text(true);
      assert.match(screen, /examples\/wakeup\.lt: started wakeup\n/);
      assert.match(screen, /\nthe trace was replayed to its end: these counters are final\n/);
      execFileSync("tmux", ["resize-window", "-t", pane.name, "-x", "60", "-y", "20"]);
      screen = await pane.waitFor(
        (s) => s.includes("ltsh>") && s.split("\n").length <= 21,
        "the resized screen",
      );
      pane.type(":list", true);
      screen = await pane.waitFor(
        (s) => s.includes("wakeup (running") || s.includes("wakeup (done"),
        "the list",
      );
      for (const line of screen.split("\n"))
        assert.ok([...line].length <= 60, `wider than 60: ${line}`);
      pane.keys("C-d");
      await pane.waitFor((s) => s.includes("LTSH-EXIT=0"), "the exit", 20_000, true);
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

if (!skip) {
  test("a chain tracker in the replay shell: its worst recent hit as a waterfall, link by link", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-e2e-"));
    const trace = "examples/chains/lo.txt.gz";
    const pane = new TmuxPane(`cd ${ROOT} && ${LTSH} examples/chains/lo.lt --replay ${trace}`, {
      XDG_STATE_HOME: dir,
    });
    try {
      const screen = await pane.waitFor(
        (s) => /lo: worst recent hit \d+us, 4 links/.test(s) && s.includes("ended"),
        "the waterfall",
      );
      const links = screen.split("\n").filter((l) => /^ {2}(raise|softirq|waking|run) /.test(l));
      assert.equal(
        links.map((l) => l.trim().split(" ")[0]),
        ["raise", "softirq", "waking", "run"],
        screen,
      );
      assert.match(links[3], /run udp-reader-\d+ +\d+us \| +█+ *\|/);
      pane.type(":quit", true);
      await pane.waitFor((s) => s.includes("LTSH-EXIT=0"), "the exit", 20_000, true);
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("without a terminal the shell says to use ltsh run, exit 1", () => {
  const result = ltsh("--replay", FIXTURE);
  assert.is(result.status, 1);
  assert.match(result.stderr, /^ltsh: error: the shell needs a terminal .* use: ltsh run FILE\.lt/);
});

test("a word that is neither a command nor a file is a usage error", () => {
  const result = ltsh("chek");
  assert.is(result.status, 2);
  assert.match(result.stderr, /'chek' is neither a command nor a \.lt file/);
  assert.not.ok(existsSync(join(ROOT, "chek")));
});

test.run();
