// User-space probes on the live eBPF backend, on the workload of test/fixtures/usdt/ (its
// header says what iteration i passes to each probe): exact pair counts, and argument values
// checked exactly through keys (hit keys are the values read) and filters (a wrong read
// pairs nothing or too much). PIE, non-PIE and stripped builds; a begin and its end on two
// threads keyed by a cookie; semaphore-guarded probes in the program and in its library;
// libc by library name; a uprobe paired with a kernel tracepoint.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HitRecord } from "../../src/records/types.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { compileText, run, runLive } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const N = 20;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => BigInt(from + k));

function keysOf(hits: HitRecord[], tracker: string): bigint[] {
  return hits
    .filter((h) => h.tracker === tracker)
    .map((h) => h.key[0] as bigint)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every tracker pairs only on values the workload's header promises. */
function trackers(P: string, library: string): string {
  return `
track argv: uprobe:${P}:lt_add(arg0) where arg1 == 100 -> usdt:${P}:frame(arg2) > 1ns
track ret: uretprobe:${P}:lt_add($tid) where retval == 105
        -> usdt:${P}:constants($tid) where arg0 == 5 && arg1 == -1 > 1ns
track widths: usdt:${P}:registers(arg1) -> usdt:${P}:widths(arg2) > 1ns
track globals: usdt:${P}:globals($tid) where arg0 == 100 && arg1 == 200
        -> usdt:${P}:indexed($tid) where arg0 == 50 > 1ns
track scaled: usdt:${P}:scaled($tid) where arg0 == 50 && arg1 == 200 && arg2 == 100
        -> usdt:${P}:frame($tid) where arg0 == 15 && arg1 == 120 > 1ns
track cookie: usdt:${P}:ltsh:work__begin(arg0) -> usdt:${P}:work__end(arg0) > 1ns
track guarded: usdt:${P}:guarded(arg0) -> usdt:${P}:tick(arg0) > 1ns
track twosites: usdt:${P}:tick(arg0) -> usdt:${P}:tick(arg0) > 1ns
track lib: usdt:${P}:guarded(arg0) -> usdt:${library}:ltshlib:call(arg0) > 1ns
track greet: uprobe:${P}:lt_greet(str(arg0)) -> uprobe:${P}:lt_greet(str(arg0)) > 1ns
track greetret: uprobe:${P}:lt_greet($tid) where str(arg0) == "ltsh"
        -> uretprobe:${P}:lt_greet($tid) where retval == 4 > 1ns
`;
}

for (const build of ["pie", "nopie", "stripped"] as const) {
  test(`${build}: exact pairs and argument values for uprobes, uretprobes and USDT`, async () => {
    const w = buildWorkload();
    const path = w[build];
    const plan = compileText(trackers(path, w.library));
    const { hits, summaries } = await runLive(plan, async () => {
      await run([path, String(N)]);
    });
    const pairs = Object.fromEntries(summaries.map((s) => [s.tracker, s.pairs]));
    assert.equal(pairs, {
      argv: N,
      ret: 1,
      widths: N,
      globals: 1, // i & 15 == 5: i = 5 (N = 20)
      scaled: 1,
      cookie: N,
      guarded: N,
      twosites: N,
      lib: N,
      greet: N - 1,
      greetret: N,
    });
    for (const s of summaries) assert.is(s.dropped, 0, s.tracker);
    assert.equal(keysOf(hits, "argv"), range(1, N));
    assert.equal(
      keysOf(hits, "widths"),
      range(1, N)
        .map((i) => -i)
        .reverse(),
    );
    assert.equal(keysOf(hits, "guarded"), range(1, N));
    assert.equal(
      keysOf(hits, "cookie"),
      range(1, N).map((i) => 0xc0de00n + i),
    );
    const cookies = hits.filter((h) => h.tracker === "cookie");
    assert.ok(
      cookies.every(
        (h) => h.end !== null && h.end.tid !== h.begin.tid && h.end.pid === h.begin.pid,
      ),
    );
    const greet = hits.filter((h) => h.tracker === "greet");
    assert.ok(greet.every((h) => h.key[0] === "ltsh"));
  });
}

test("libc by name, a uprobe paired with a kernel tracepoint", async () => {
  const w = buildWorkload();
  const plan = compileText(`
track ppid: uprobe:libc:getppid($tid) where comm == "workload-pie" -> uretprobe:libc:getppid($tid) > 1ns
track mixed: uprobe:libc:getppid($tid) where comm == "workload-pie" -> sys_exit_getppid($tid) > 1ns
`);
  const { summaries } = await runLive(plan, async () => {
    await run([w.pie, String(N)]);
  });
  const pairs = Object.fromEntries(summaries.map((s) => [s.tracker, s.pairs]));
  assert.equal(pairs, { ppid: N, mixed: N });
});

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-live", skip);
else test.run();
