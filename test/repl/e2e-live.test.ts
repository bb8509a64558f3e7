// End to end in a real terminal, live: the shell on this kernel (root), a tracker typed at
// the prompt, a workload the test starts (a renamed `sleep`, so its wakeups are known),
// hits and the histogram on screen, :save, :quit; the saved file checks clean.

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkLivePermissions } from "../../src/kernel/permissions.ts";
import { TmuxPane, tmuxSkipReason } from "./tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NAP = "ltsh-e2e-nap";
const NAPS = 40;

const permitted = checkLivePermissions();
const skip = tmuxSkipReason() ?? (permitted.ok ? null : permitted.message);
if (skip) {
  console.log(`  skip shell e2e (live): ${skip}`);
} else {
  test("live in tmux: a tracker on a workload's wakeups shows hits and a histogram; :save, :quit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-e2e-live-"));
    const nap = join(dir, NAP);
    copyFileSync("/bin/sleep", nap);
    const saved = join(dir, "nap.lt");
    const pane = new TmuxPane(`cd ${ROOT} && ${process.execPath} bin/ltsh.js`, {
      XDG_STATE_HOME: dir,
    });
    try {
      await pane.waitFor((s) => s.includes("ltsh>") && s.includes("live eBPF"), "the live prompt");
      pane.type(
        `track nap: sched_wakeup(args.pid) where args.comm == "${NAP}" -> sched_switch(next_pid) > 1ns`,
        true,
      );
      await pane.waitFor((s) => s.includes("▸ nap"), "the tracker's row", 20_000);
      const workload = spawn("sh", ["-c", `for i in $(seq ${NAPS}); do ${nap} 0.005; done`], {
        stdio: "ignore",
      });
      await new Promise((resolve) => workload.on("exit", resolve));
      // Nearly every nap is one pair and one hit; a wakeup that lands before the task has
      // left the CPU has no switch-in to end it, so allow a couple fewer.
      const counted = (s: string) => {
        const row = /▸ nap .*→\S+ +1ns +(\d+) +(\d+) /.exec(s);
        return row !== null && row[1] === row[2] && Number(row[1]) >= NAPS - 2;
      };
      const screen = await pane.waitFor(counted, `about ${NAPS} pairs, each a hit`);
      await pane.waitFor(
        (s) => /\n\d+\.\d{9} nap \S+ key=\d+ .* -> /.test(s),
        "a hit line above the panels",
        5000,
        true,
      );
      assert.match(screen, /nap: \d+ pairs {2}p50 /, "the histogram title");
      assert.match(screen, /\] +\d+ \|█+ *\|/, "a histogram bar");
      assert.match(screen, /live eBPF │ \d\d:\d\d │ /);
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
      assert.match(all, /nap: (\d+) pairs, \1 hits, 0 timeouts, 0 dropped/);
      const check = spawnSync(process.execPath, ["bin/ltsh.js", "check", saved], {
        cwd: ROOT,
        encoding: "utf8",
      });
      assert.is(check.status, 0, check.stderr);
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
