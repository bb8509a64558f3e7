// `ltsh serve` live: metrics and an NDJSON hits file while it runs, journald-style log
// lines; SIGHUP with an unchanged, a changed and a broken file; SIGTERM drains and exits 0,
// and after SIGTERM or SIGKILL none of its programs stays loaded.

import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelSkipReason, reportSkip } from "../kernel/support.ts";
import {
  EXAMPLES,
  type LtshChild,
  loadedPrograms,
  scrape,
  startLtsh,
  trackerPrograms,
} from "./child.ts";
import { parseExposition, sampleValue } from "./parse.ts";

const EXTRA = "track extra: irq_handler_entry(irq) -> irq_handler_exit(irq)";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pairs(url: string, tracker: string): Promise<number> {
  return sampleValue(parseExposition(await scrape(url)), "ltsh_pairs_total", { tracker })!;
}

/** Waits until `pattern` occurs `times` times in the child's stderr. */
async function logged(ltsh: LtshChild, pattern: RegExp, times = 1): Promise<void> {
  const global = new RegExp(pattern.source, "g");
  await ltsh.waitForStderr(new RegExp(`(?:[\\s\\S]*?${pattern.source}){${times}}`));
  assert.ok((ltsh.output.stderr.match(global) ?? []).length >= times);
}

function serveIn(dir: string, extra: string[] = []): LtshChild {
  cpSync(`${EXAMPLES}wakeup.lt`, join(dir, "a.lt"));
  cpSync(`${EXAMPLES}offcpu.lt`, join(dir, "b.lt"));
  const args = ["serve", join(dir, "a.lt"), join(dir, "b.lt"), "--metrics", "127.0.0.1:0"];
  return startLtsh([...args, ...extra]);
}

const skip = kernelSkipReason();
if (skip) reportSkip("ltsh serve (live)", skip);
else {
  test("serve: metrics, hits file, SIGHUP unchanged/changed/broken, SIGTERM cleans up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-serve-"));
    const hitsPath = join(dir, "hits.ndjson");
    const ltsh = serveIn(dir, ["--hits", hitsPath]);
    try {
      const url = await ltsh.metricsUrl();
      assert.match(ltsh.output.stderr, /^<6>.*a\.lt: started wakeup$/m);
      const pid = ltsh.child.pid!;
      const wakeupIds = trackerPrograms(pid, "wakeup");
      const offcpuIds = trackerPrograms(pid, "offcpu");
      // one program per tracepoint: wakeup's begin; its end and cancel on sched_switch
      assert.is(wakeupIds.length, 2, "wakeup's programs on sched_wakeup and sched_switch");
      assert.is(offcpuIds.length, 1, "offcpu's end and begin, both on sched_switch");
      await sleep(1500);

      // A changed file: its tracker restarts (new programs, counters from zero); the other
      // file is unchanged: same programs, counters go on.
      const wakeupBefore = await pairs(url, "wakeup");
      const offcpuBefore = await pairs(url, "offcpu");
      writeFileSync(
        join(dir, "a.lt"),
        `${readFileSync(join(dir, "a.lt"), "utf8").replace("200us", "300us")}\n${EXTRA}\n`,
      );
      ltsh.child.kill("SIGHUP");
      await logged(ltsh, /a\.lt: started extra/);
      await logged(ltsh, /a\.lt: started wakeup/, 2);
      await logged(ltsh, /b\.lt: unchanged: offcpu/);
      assert.match(ltsh.output.stderr, /^<6>.*a\.lt: stopped wakeup \(changed\)$/m);
      assert.ok((await pairs(url, "wakeup")) < wakeupBefore, "wakeup's counters restarted");
      assert.ok((await pairs(url, "offcpu")) >= offcpuBefore, "offcpu's counters went on");
      const restartedIds = trackerPrograms(pid, "wakeup");
      assert.is(restartedIds.length, 2);
      assert.not.equal(restartedIds, wakeupIds, "wakeup has new programs");
      assert.equal(trackerPrograms(pid, "offcpu"), offcpuIds, "offcpu kept its programs");

      // A broken file: its diagnostics are logged, its trackers keep running.
      const offcpuBeforeBroken = await pairs(url, "offcpu");
      appendFileSync(join(dir, "b.lt"), "track x: no_such_event(pid) -> sched_switch(next_pid)\n");
      ltsh.child.kill("SIGHUP");
      await logged(ltsh, /b\.lt has errors: its trackers keep running unchanged/);
      assert.match(
        ltsh.output.stderr,
        /^<3>.*b\.lt:\d+:10: error: unknown tracepoint 'no_such_event'$/m,
      );
      assert.match(ltsh.output.stderr, /^<3> +\| +\^~+$/m, "with the caret line");
      assert.match(ltsh.output.stderr, /a\.lt: unchanged: wakeup/);
      assert.equal(trackerPrograms(pid, "offcpu"), offcpuIds);
      assert.ok((await pairs(url, "offcpu")) >= offcpuBeforeBroken);

      // The file fixed, with a `set` option changed: its session reopens, its trackers restart.
      writeFileSync(
        join(dir, "b.lt"),
        `set snapshot.rate = 2\n${readFileSync(`${EXAMPLES}offcpu.lt`, "utf8")}`,
      );
      ltsh.child.kill("SIGHUP");
      await logged(ltsh, /b\.lt: started offcpu/, 2);
      assert.match(
        ltsh.output.stderr,
        /^<5>.*b\.lt: its options changed: every tracker restarts$/m,
      );
      const reopenedIds = trackerPrograms(pid, "offcpu");
      assert.is(reopenedIds.length, 1, "offcpu's one program, on sched_switch");
      assert.not.equal(reopenedIds, offcpuIds, "offcpu has new programs");
      assert.equal(trackerPrograms(pid, "wakeup"), restartedIds, "wakeup untouched");
      assert.equal(
        (await scrape(url)).match(/^ltsh_pairs_total\{tracker="(\w+)"\}/gm)?.length,
        3,
        "wakeup, extra and offcpu, each once",
      );

      // A tracker deleted from its file stops; its metrics go.
      writeFileSync(join(dir, "a.lt"), readFileSync(join(dir, "a.lt"), "utf8").replace(EXTRA, ""));
      ltsh.child.kill("SIGHUP");
      await logged(ltsh, /a\.lt: stopped extra \(gone\)/);
      assert.equal(trackerPrograms(pid, "extra"), []);
      assert.not.match(await scrape(url), /tracker="extra"/);

      // SIGTERM: summaries logged, exit 0, nothing left loaded; the hits are in the file.
      const ids = [...restartedIds, ...offcpuIds, ...reopenedIds];
      ltsh.child.kill("SIGTERM");
      assert.is(await ltsh.exited, 0, ltsh.output.stderr);
      assert.match(ltsh.output.stderr, /^<6>wakeup: \d+ pairs, \d+ hits/m);
      assert.match(ltsh.output.stderr, /^<6>offcpu: \d+ pairs/m);
      assert.is(
        ltsh.output.stderr.match(/^<6>wakeup: \d+ pairs/gm)?.length,
        1,
        "the running wakeup only",
      );
      const loaded = loadedPrograms();
      assert.equal(
        ids.filter((id) => loaded.has(id)),
        [],
        "programs left after SIGTERM",
      );
      const lines = readFileSync(hitsPath, "utf8").trim().split("\n");
      assert.ok(lines.length > 0, "hits were written");
      for (const line of lines) assert.is(JSON.parse(line).type, "hit");
      assert.ok(
        ltsh.output.stderr.split("\n").every((l) => l === "" || /^<[3-6]>/.test(l)),
        "every log line has a priority",
      );
    } finally {
      await ltsh.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("serve: SIGKILL leaves no program behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-serve-"));
    const ltsh = serveIn(dir);
    try {
      await ltsh.metricsUrl();
      const pid = ltsh.child.pid!;
      const ids = [...trackerPrograms(pid, "wakeup"), ...trackerPrograms(pid, "offcpu")];
      assert.is(ids.length, 3, "wakeup's 2 programs, offcpu's 1");
      ltsh.child.kill("SIGKILL");
      await ltsh.exited;
      await sleep(200); // the kernel releases the last fd's programs asynchronously
      const loaded = loadedPrograms();
      assert.equal(
        ids.filter((id) => loaded.has(id)),
        [],
        "programs left after SIGKILL",
      );
    } finally {
      await ltsh.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
