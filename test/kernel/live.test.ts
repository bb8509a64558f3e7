// The live backend in this kernel: every example loads, attaches and detaches cleanly, and
// workloads started by the test produce hits with the right pid, comm and latency.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatKey, summaryToJson } from "../../src/records/output.ts";
import { exampleFiles, exampleSource } from "../corpus.ts";
import { expectedPrograms } from "../plans.ts";
import { compileText, namedSleep, openBpfFds, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

test("every example loads, attaches and detaches, leaving no BPF object open", async () => {
  const before = openBpfFds();
  for (const file of exampleFiles()) {
    const plan = compileText(exampleSource(file), file);
    let during: Record<string, number> = {};
    const { summaries } = await runLive(plan, async () => {
      during = openBpfFds();
    });
    const programs = plan.trackers.reduce((n, t) => n + expectedPrograms(t), 0);
    assert.is(
      (during["bpf-prog"] ?? 0) - (before["bpf-prog"] ?? 0),
      programs,
      `${file}: programs loaded`,
    );
    assert.equal(
      summaries.map((s) => s.tracker),
      plan.trackers.map((t) => t.name),
      file,
    );
    assert.equal(openBpfFds(), before, `${file}: everything closed`);
  }
});

test("a task sleeping on a timer: its nanosleep is a hit with its pid, comm and the slept time", async () => {
  const sleeper = namedSleep("ltsh_sleeper");
  const plan = compileText(`
track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_sleeper"
    -> sys_exit_clock_nanosleep($tid) > 10ms
track woken: sched_wakeup(args.pid) where args.comm == "ltsh_sleeper"
    -> sched_switch(next_pid) > 1ns
`);
  const pids: number[] = [];
  try {
    const { hits, summaries } = await runLive(plan, async () => {
      for (let i = 0; i < 3; i++) pids.push(await run([sleeper.path, "0.03"]));
      await sleep(20);
    });
    const naps = hits.filter((h) => h.tracker === "nap");
    assert.equal(
      naps.map((h) => h.key),
      pids.map((p) => [BigInt(p)]),
    );
    for (const [i, h] of naps.entries()) {
      assert.is(h.kind, "threshold");
      assert.equal([h.begin.pid, h.begin.tid, h.begin.comm], [pids[i], pids[i], "ltsh_sleeper"]);
      assert.equal(
        [h.end?.pid, h.end?.comm, h.end?.probe],
        [pids[i], "ltsh_sleeper", "syscalls:sys_exit_clock_nanosleep"],
      );
      assert.ok(h.latency_ns >= 30e6 && h.latency_ns < 500e6, `slept ${h.latency_ns} ns`);
      assert.is(h.end!.ts_ns - h.begin.ts_ns, BigInt(h.latency_ns));
    }
    const nap = summaries.find((s) => s.tracker === "nap")!;
    assert.equal([nap.pairs, nap.hits, nap.dropped], [3, 3, 0]);
    assert.ok(nap.min_ns! >= 30e6 && nap.max_ns! < 500e6);
    // each sleeper is woken by its timer at least once, and switched in soon after
    const woken = hits.filter((h) => h.tracker === "woken");
    // on a failure, what the tracker counted says whether the pair was dropped, missed or
    // never begun
    const counted = summaryToJson(summaries.find((s) => s.tracker === "woken")!);
    for (const pid of pids) {
      const mine = woken.filter((h) => h.key[0] === BigInt(pid));
      const keys = woken.map((h) => formatKey(h.key)).join(" ");
      assert.ok(mine.length >= 1, `a wakeup of ${pid} among hits of ${keys}; ${counted}`);
      for (const h of mine)
        assert.ok(h.latency_ns > 0 && h.latency_ns < 100e6, `woken in ${h.latency_ns} ns`);
    }
  } finally {
    sleeper.remove();
  }
});

test("the HASH pending table (the other implementation) pairs the same sleeps", async () => {
  const sleeper = namedSleep("ltsh_hashed");
  const plan = compileText(`
track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_hashed"
    -> sys_exit_clock_nanosleep($tid) > 10ms timeout 5s
`);
  plan.options = { ...plan.options, "pending.table": "hash" };
  try {
    const pids: number[] = [];
    const { hits, summaries } = await runLive(plan, async () => {
      for (let i = 0; i < 3; i++) pids.push(await run([sleeper.path, "0.02"]));
    });
    assert.equal(
      hits.map((h) => h.key),
      pids.map((p) => [BigInt(p)]),
    );
    assert.equal([summaries[0].pairs, summaries[0].hits, summaries[0].pending], [3, 3, 0]);
  } finally {
    sleeper.remove();
  }
});

test("a pipe ping-pong: both ends' wakeups pair up with their own pids", async () => {
  const rounds = 200;
  const plan = compileText(`
track pingpong: sched_wakeup(args.pid) where args.comm == "ltsh_pingpong"
    -> sched_switch(next_pid) > 1ns
`);
  const perl = `
    sub name { open(my $f, '>', '/proc/self/comm'); print $f 'ltsh_pingpong'; close $f }
    pipe(my $ar, my $aw); pipe(my $br, my $bw); name();
    my $child = fork();
    if ($child == 0) { for (1..${rounds}) { sysread($ar, my $b, 1); syswrite($bw, 'x') } exit 0 }
    print STDOUT "$$ $child\\n";
    for (1..${rounds}) { syswrite($aw, 'x'); sysread($br, my $b, 1) }
    waitpid($child, 0);`;
  let pids: bigint[] = [];
  const { hits, summaries } = await runLive(plan, async () => {
    const { execFileSync } = await import("node:child_process");
    pids = execFileSync("perl", ["-e", perl], { encoding: "utf8" }).trim().split(" ").map(BigInt);
    await sleep(20);
  });
  const summary = summaries[0];
  // every round wakes each side once; a wakeup may be skipped when the task had not slept yet
  assert.ok(summary.pairs >= rounds, `${summary.pairs} pairs`);
  assert.ok(summary.pairs <= 2 * rounds + 4, `${summary.pairs} pairs`);
  assert.is(hits.length, summary.hits);
  for (const h of hits) {
    assert.ok(pids.includes(h.key[0] as bigint), `key ${h.key[0]} is one of ${pids}`);
    assert.is(h.end?.probe, "sched:sched_switch");
    assert.ok(h.latency_ns > 0 && h.latency_ns < 1e9);
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live", skip);
else test.run();
