// A hit submitted by a program that runs with IRQs on (a system call's) wakes no one
// (src/compiler/bpf/ring-wakeup.ts): its wakeup would be an irq_work IPI taken inside the
// program, and the kernel would skip every BPF program of that IRQ, counted as missed. The
// session drains the ring on a timer instead, so the hits still arrive while it runs.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFERRED_DRAIN_MS } from "../../src/compiler/bpf/ring-wakeup.ts";
import { compileText, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const calls = 3000;
// 30 batches of 100 getppid() with a pause between them: the reader keeps up, so each batch
// would find the ring empty and wake it
const perl = `open(my $f, '>', '/proc/self/comm'); print $f 'ltsh_wake'; close $f;
  for (1..30) { getppid() for 1..100; select(undef, undef, undef, 0.01); }`;

test("system-call hits raise no irq_work inside the program; every one is delivered during the run", async () => {
  const plan = compileText(`
track calls: sys_enter_getppid($tid) where comm == "ltsh_wake" -> sys_exit_getppid($tid) > 1ns
track works: irq_vectors:irq_work_entry($cpu) -> irq_vectors:irq_work_exit($cpu) > 1s
`);
  let during = 0;
  const { hits, summaries } = await runLive(plan, async (delivered) => {
    await promisify(execFile)("perl", ["-e", perl]);
    await sleep(4 * DEFERRED_DRAIN_MS);
    during = delivered.length;
  });
  const [calls_, works] = summaries;
  assert.is(calls_.pairs, calls);
  assert.is(during, calls, "delivered by the drain timer, before the session closed");
  // before: one skipped irq_work_entry and _exit per batch at least (the reader's wakeup)
  assert.ok(works.missed < 10, `${works.missed} irq_work events missed`);
  assert.is(hits.length, calls);
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-wakeup", skip);
else test.run();
