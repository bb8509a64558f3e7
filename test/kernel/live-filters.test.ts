// Filter semantics in the kernel: strings compared up to the NUL (a prefix or a longer
// string is different), signed and unsigned 64-bit compares, && || !. Each tracker below
// must (m_*) or must not (n_*) see the nanosleep of a task named "ltsh_filterab".

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileText, namedCopy, namedSleep, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const filters: Record<string, string> = {
  m_exact: `comm == "ltsh_filterab"`,
  n_prefix: `comm == "ltsh_filter"`,
  n_longer: `comm == "ltsh_filterabc"`,
  // longer than comm holds: constant, warned of, and the program still loads
  n_too_long: `comm == "ltsh_filterab_and_on_past_16"`,
  m_ne_too_long: `comm != "ltsh_filterab_and_on_past_16"`,
  m_ne_prefix: `comm != "ltsh_filter"`,
  n_ne_exact: `comm != "ltsh_filterab"`,
  m_or: `comm == "nope" || $pid > 1`,
  n_and_not: `comm == "ltsh_filterab" && !($tid > 0)`,
  m_u64: `args.rqtp > 0xffffffff && args.rqtp != 0xffffffffffffffff`,
  n_signed: `args.__syscall_nr < 0`,
  m_signed: `args.__syscall_nr >= 230 && args.__syscall_nr <= 230`,
  m_not_not: `!!(args.flags == 0)`,
  m_negative_literal: `$tid > -1 && args.__syscall_nr >= 0 && -5 < args.__syscall_nr`,
  n_negative_literal: `$tid < -1 || args.__syscall_nr <= -1`,
};

test("filters select exactly the events the reference semantics say", async () => {
  const sleeper = namedSleep("ltsh_filterab");
  const source = Object.entries(filters)
    .map(
      ([name, where]) =>
        `track ${name}: sys_enter_clock_nanosleep($tid) where ${where}\n` +
        `    -> sys_exit_clock_nanosleep($tid) > 1ns\n`,
    )
    .join("");
  let pid = 0;
  try {
    const { hits } = await runLive(compileText(source), async () => {
      pid = await run([sleeper.path, "0.01"]);
      await sleep(20);
    });
    const saw = (tracker: string) =>
      hits.some((h) => h.tracker === tracker && h.key[0] === BigInt(pid));
    for (const name of Object.keys(filters)) {
      assert.is(saw(name), name.startsWith("m_"), `${name}: ${filters[name]}`);
    }
  } finally {
    sleeper.remove();
  }
});

test("a negative field compares as a negative number: a failed write's ret < 0", async () => {
  const perl = namedCopy("/usr/bin/perl", "ltsh_badfd");
  const plan = compileText(`
track failed: sys_enter_write($tid) where comm == "ltsh_badfd"
    -> sys_exit_write($tid) where ret < 0 && ret == -9 && ret >= -9
track succeeded: sys_enter_write($tid) where comm == "ltsh_badfd"
    -> sys_exit_write($tid) where ret >= 0
`);
  try {
    const { summaries } = await runLive(plan, async () => {
      // writing to a descriptor that is not open fails with EBADF (-9)
      await run([perl.path, "-MPOSIX", "-e", "POSIX::write(42, 'x', 1)"]);
      await sleep(20);
    });
    const pairs = Object.fromEntries(summaries.map((s) => [s.tracker, s.pairs]));
    assert.equal(pairs, { failed: 1, succeeded: 0 });
  } finally {
    perl.remove();
  }
});

test("string keys pair by text: the woken task's comm, then the switched-in task's comm", async () => {
  const sleeper = namedSleep("ltsh_strkey");
  const plan = compileText(`
track bycomm: sched_wakeup(args.comm) where args.comm == "ltsh_strkey"
    -> sched_switch(args.next_comm) > 1ns
`);
  try {
    const { hits, summaries } = await runLive(plan, async () => {
      for (let i = 0; i < 3; i++) await run([sleeper.path, "0.01"]);
      await sleep(20);
    });
    assert.ok(summaries[0].pairs >= 3, `${summaries[0].pairs} pairs`);
    assert.ok(hits.every((h) => h.key[0] === "ltsh_strkey"));
  } finally {
    sleeper.remove();
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-filters", skip);
else test.run();
