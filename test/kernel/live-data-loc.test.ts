// Variable-length string fields (`__data_loc char[]`) live on eBPF against replay of a
// recording of the same run: sched_process_exec's filename, the path a task execs, filtered
// (==, !=) and printed. A path longer than the 63 bytes a backend reads is seen by its first
// 63 bytes on both sides: a 63-byte literal matches it, a longer one never does (the checker
// warns), and its hit prints the 63 bytes.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { compileText, recordDuring, replayTrace, run, runLive } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const TRUE = "/usr/bin/true";

/** A directory whose `.../true` is a path of more than 63 bytes, linked to /usr/bin/true. */
function longPath(): { path: string; remove: () => void } {
  const top = mkdtempSync(join(tmpdir(), "ltsh-dataloc-"));
  const dir = join(top, "a-directory-name-long-enough-to-pass-63-bytes");
  mkdirSync(dir);
  const path = join(dir, "true");
  symlinkSync(TRUE, path);
  return { path, remove: () => rmSync(top, { recursive: true, force: true }) };
}

/** What a hit shows of an exec: the task's pid and the printed filename. */
const shown = (hits: HitRecord[], tracker: string, pids: Set<number>) =>
  hits
    .filter((h) => h.tracker === tracker && pids.has(Number(h.key[0])))
    .map((h) => `${h.key[0]} ${h.fields?.filename}`)
    .sort();

test("a __data_loc string filtered and printed live on eBPF, as replay reads the same run", async () => {
  const long = longPath();
  const first63 = Buffer.from(long.path).subarray(0, 63).toString();
  const source = `
track exact: sched_process_exec(pid) where filename == "${TRUE}"
    -> sched_process_exit(pid) > 1ns then print(filename)
track other: sched_process_exec(pid) where filename != "${TRUE}" && filename != "/bin/echo"
    -> sched_process_exit(pid) > 1ns then print(filename)
track first63: sched_process_exec(pid) where filename == "${first63}"
    -> sched_process_exit(pid) > 1ns then print(filename)
track whole: sched_process_exec(pid) where filename == "${long.path}"
    -> sched_process_exit(pid) > 1ns
`;
  const warned = compileSource(source, "t.lt").diagnostics.map((d) => d.message);
  assert.equal(warned, [
    `"${long.path}" is longer than field 'filename' (__data_loc char[]) can hold, so it never matches`,
  ]);
  const plan = compileText(source);
  const pids = { true: new Set<number>(), long: new Set<number>(), echo: new Set<number>() };
  try {
    await recordDuring(
      ["sched:sched_process_exec", "sched:sched_process_exit"],
      () =>
        runLive(plan, async () => {
          for (let i = 0; i < 3; i++) {
            pids.true.add(await run([TRUE]));
            pids.long.add(await run([long.path]));
            pids.echo.add(await run(["/bin/echo", "-n"]));
          }
        }),
      async (trace, live) => {
        const reference = await replayTrace(trace, plan);
        const all = new Set([...pids.true, ...pids.long, ...pids.echo]);
        const want = {
          exact: [...pids.true].map((p) => `${p} ${TRUE}`).sort(),
          other: [...pids.long].map((p) => `${p} ${first63}`).sort(),
          first63: [...pids.long].map((p) => `${p} ${first63}`).sort(),
          whole: [],
        };
        for (const [tracker, expected] of Object.entries(want)) {
          assert.equal(shown(live.hits, tracker, all), expected, `${tracker} live`);
          assert.equal(shown(reference.hits, tracker, all), expected, `${tracker} replayed`);
        }
      },
    );
  } finally {
    long.remove();
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-data-loc", skip);
else test.run();
