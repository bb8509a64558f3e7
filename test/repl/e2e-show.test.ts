// End to end in a real terminal (tmux, 100x30): `ltsh show` on a snapshot the live recorder
// wrote. A user reads the timeline, steps to the next event, zooms, pans, fits the hit again
// and quits with q; the terminal comes back (alternate screen) and ltsh exits 0. Without a
// terminal it prints the first screen; a bad file or usage is one line and an exit status.
// In the shell, a hit of the feed picked with shift+up opens its snapshot on Enter.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TmuxPane, tmuxSkipReason } from "./tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURE = "test/repl/fixtures/wakeup-snapshot.txt";
const LTSH = `${process.execPath} bin/ltsh.js`;

function ltsh(...args: string[]) {
  return spawnSync(process.execPath, ["bin/ltsh.js", ...args], { cwd: ROOT, encoding: "utf8" });
}

test("ltsh show without a terminal prints the first screen; mistakes are one line", () => {
  const shown = ltsh("show", FIXTURE);
  assert.is(shown.status, 0, shown.stderr);
  const lines = shown.stdout.trimEnd().split("\n");
  assert.is(lines[0], "wakeup threshold hit 1.11ms  key=16143 (tsc-16143)  wakeup-snapshot.txt");
  assert.ok(lines.length <= 30 && lines.every((line) => [...line].length <= 100));
  assert.ok(lines.some((line) => /^cpu1 .*tsc-16146─+/.test(line)));
  const missing = ltsh("show", "no-such-snapshot.txt");
  assert.equal(
    [missing.status, missing.stderr],
    [1, "ltsh: error: no-such-snapshot.txt: cannot read the trace: no such file\n"],
  );
  const usage = ltsh("show");
  assert.is(usage.status, 2);
  assert.match(
    usage.stderr,
    /^ltsh show: error: expected one SNAPSHOT\.txt\nTry 'ltsh show --help'/,
  );
  assert.match(
    ltsh("--help").stdout,
    /\n {2}show +show a snapshot as a per-CPU timeline in the terminal\n/,
  );
});

const skip = tmuxSkipReason();
if (skip) {
  console.log(`  skip ltsh show e2e: ${skip}`);
} else {
  test("ltsh show in tmux: the timeline, n steps, + zooms, arrows pan, f fits, q quits", async () => {
    const pane = new TmuxPane(
      `cd ${ROOT} && echo before-show && ${LTSH} show ${FIXTURE}`,
      {},
      { columns: 100, rows: 30 },
    );
    try {
      let screen = await pane.waitFor((s) => s.includes("wakeup threshold hit"), "the timeline");
      assert.match(screen, /^wakeup threshold hit 1\.11ms {2}key=16143 \(tsc-16143\)/);
      assert.match(screen, /\ncpu0 +\S*perl-15603─+/);
      assert.match(screen, /\ncpu1 .*tsc-16146─+/);
      assert.match(screen, /\[─+ wakeup 1\.11ms ─+\]/);
      assert.match(screen, /event 17\/26 {2}\+0 {2}cpu1/);
      assert.not.match(screen, /before-show/, "on the alternate screen");

      pane.type("n");
      screen = await pane.waitFor((s) => s.includes("event 18/26"), "the next event");
      assert.match(screen, /softirq_exit: vec=4 \[action=BLOCK\]/);

      pane.type("+");
      screen = await pane.waitFor((s) => /\|\+200us/.test(s), "a finer ruler after zooming in");
      const ruler = () => pane.text().split("\n")[1];
      const before = ruler();
      pane.keys("Right");
      await pane.waitFor(() => ruler() !== before, "the ruler moving with a pan");
      pane.type("f");
      await pane.waitFor((s) => /\|\+500us/.test(s), "the hit fitted again");

      pane.type("q");
      screen = await pane.waitFor((s) => s.includes("LTSH-EXIT="), "ltsh to exit");
      assert.match(screen, /LTSH-EXIT=0/);
      assert.match(screen, /before-show/, "the terminal as it was before");
      assert.not.match(screen, /wakeup threshold hit/);
    } finally {
      pane.kill();
    }
  });

  test("the shell in tmux: shift+up picks a hit of the feed, Enter opens its snapshot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-e2e-pick-"));
    const trace = "test/fixtures/traces/wakeup.txt";
    const pane = new TmuxPane(
      `cd ${ROOT} && ${LTSH} --replay ${trace}`,
      { XDG_STATE_HOME: dir },
      { columns: 100, rows: 30 },
    );
    try {
      await pane.waitFor((s) => s.includes("ltsh>"), "the prompt");
      pane.type(`set snapshot.dir = "${dir}"`, true);
      pane.type(
        "track w: sched_wakeup(args.pid) -> sched_switch(next_pid) > 2ms then snapshot",
        true,
      );
      await pane.waitFor((s) => /\n\d+\.\d{9} w \S+ key=\d+ \(/.test(s), "a named hit in the feed");
      await pane.waitFor((s) => s.includes("(ended)"), "the trace replayed");
      pane.keys("S-Up");
      let screen = await pane.waitFor((s) => s.includes("Enter opens its snapshot"), "a pick");
      const picked = /▸ (\d+\.\d{9}) w /.exec(screen)?.[1];
      assert.ok(picked, screen);
      pane.keys("Enter");
      screen = await pane.waitFor((s) => /event \d+\/\d+/.test(s), "the timeline");
      assert.match(screen, /^w threshold hit \S+ {2}key=\d+/m);
      assert.match(screen, new RegExp(`w-${picked.replace(".", "")}\\.txt`), "the picked hit's");
      pane.type("q");
      await pane.waitFor((s) => /ltsh>\s*$/.test(s.trimEnd()), "the prompt again");
    } finally {
      pane.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
