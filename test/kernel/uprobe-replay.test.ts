// Live against replay on the same run, for user-space probes: `ltsh record --for-file`
// defines uprobe_events entries for the file's uprobes, uretprobes and USDT probes (with
// their fetch arguments, str() as ustring) and records them while the trackers run live;
// replaying the recording must give the same pairs, the same hits with the same keys, and
// leave no uprobe_events entry behind. Thresholds stay far below the pairs' latencies: the
// trace prints microseconds.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { compileText, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";
import { startForFileRecorder, uprobeEvents } from "./uprobe-support.ts";

const N = 12;

function source(P: string): string {
  return `
track add: uprobe:${P}:lt_add($tid) where arg1 == 100 -> uretprobe:${P}:lt_add($tid) where retval > 100
track work: usdt:${P}:ltsh:work__begin(arg0) -> usdt:${P}:work__end(arg0) > 1ns
track greet: uprobe:${P}:lt_greet(str(arg0)) where str(arg0) == "ltsh" -> uprobe:${P}:lt_greet(str(arg0)) > 1ns
track widths: usdt:${P}:registers(arg1) -> usdt:${P}:widths(arg2)
track frame: usdt:${P}:frame(arg2) where arg1 == 120 -> usdt:${P}:guarded(arg0)
track ticks: usdt:${P}:tick(arg0) -> usdt:${P}:tick(arg0)
track ppid: uprobe:libc:getppid($tid) where comm == "workload-pie" -> sys_exit_getppid($tid)
`;
}

async function replay(path: string, plan: ReturnType<typeof compileText>) {
  const hits: HitRecord[] = [];
  const session = await openSession("replay", {
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: () => {} },
    replay: { path },
  });
  for (const t of plan.trackers) await session.add(t);
  await session.done?.();
  return { hits, summaries: await session.close() };
}

test("ltsh record --for-file and live agree on pairs and hits of user-space probes", async () => {
  const w = buildWorkload();
  const dir = mkdtempSync(join(tmpdir(), "ltsh-urr-"));
  const file = join(dir, "u.lt");
  const tracePath = join(dir, "trace.txt");
  writeFileSync(file, source(w.pie));
  const plan = compileText(source(w.pie), file);
  const recorder = await startForFileRecorder(file, tracePath);
  try {
    const live = await runLive(plan, async () => {
      await run([w.pie, String(N)]);
      await sleep(50);
    });
    assert.is(await recorder.stop(), 0, recorder.stderr());
    assert.not.ok(uprobeEvents().includes(`ltsh_${recorder.pid}/`), "entries removed on exit");
    const reference = await replay(tracePath, plan);
    const counts = (s: typeof live.summaries) => s.map((x) => [x.tracker, x.pairs, x.hits]);
    assert.equal(counts(live.summaries), counts(reference.summaries));
    assert.equal(counts(live.summaries), [
      ["add", N, 0],
      ["work", N, N],
      ["greet", N - 1, N - 1],
      ["widths", N, 0],
      ["frame", N, 0],
      ["ticks", N, 0],
      ["ppid", N, 0],
    ]);
    const keys = (hits: HitRecord[]) => hits.map((h) => `${h.tracker}:${h.key.join(",")}`).sort();
    assert.equal(keys(live.hits), keys(reference.hits));
  } finally {
    recorder.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-replay", skip);
else test.run();
