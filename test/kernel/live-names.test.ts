// Live eBPF: a hit names the task its key is and carries `then print` fields, from the
// events themselves. A sleeping copy of sleep(1) with a distinctive name is the task waited
// for: its wakeups are named by the switch-in's next_comm, its system calls by their names.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatHitLine } from "../../src/records/output.ts";
import { compileText, namedSleep, run, runLive } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const NAME = "ltsh_named";

test("the woken task by name, the switched-out task's state, a system call by name", async () => {
  const plan = compileText(
    `track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 1ns then print(prev_state, prio)
     track sys: raw_syscalls:sys_enter($tid) where comm == "${NAME}" -> raw_syscalls:sys_exit($tid) > 1ms then print(id, ret)`,
  );
  const sleeper = namedSleep(NAME);
  let pid = 0;
  const live = await runLive(plan, async () => {
    pid = await run(["taskset", "-c", "0", sleeper.path, "0.05"]);
  }).finally(sleeper.remove);
  const ours = live.hits.filter((h) => h.key[0] === BigInt(pid));
  const wakeups = ours.filter((h) => h.tracker === "wakeup");
  // the pid is taskset's until it execs the sleeper: a wakeup before that is named so
  const named = wakeups.filter((h) => h.key_comm === NAME);
  assert.ok(named.length > 0, `the sleeper (pid ${pid}) was woken: ${wakeups.map(formatHitLine)}`);
  for (const hit of wakeups) {
    assert.ok(hit.key_comm === NAME || hit.key_comm === "taskset", formatHitLine(hit));
    const name = hit.key_comm;
    assert.ok(formatHitLine(hit).includes(`key=${pid} (${name}) `), formatHitLine(hit));
    assert.is(typeof hit.fields?.prio, "bigint");
    assert.match(hit.fields_text?.prev_state ?? "", /^[RSDTtXZPI|]+\+?$/);
  }
  const calls = ours.filter((h) => h.tracker === "sys");
  assert.ok(calls.length > 0, "the 50 ms sleep is a system call longer than 1 ms");
  for (const hit of calls) {
    assert.is(hit.key_comm, NAME, "the filter keeps the sleeper's own calls");
    assert.is(hit.fields?.ret, 0n, "the sleep returned 0");
  }
  assert.ok(
    calls.some((h) => h.fields_text?.id === "clock_nanosleep" || h.fields_text?.id === "nanosleep"),
    calls.map(formatHitLine).join("\n"),
  );
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-names", skip);
else test.run();
