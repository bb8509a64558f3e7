// Filter semantics in the kernel: strings compared up to the NUL (a prefix or a longer
// string is different), signed and unsigned 64-bit compares, && || !. Each tracker below
// must (m_*) or must not (n_*) see the nanosleep of a task named "ltsh_filterab".

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileText, namedSleep, run, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const filters: Record<string, string> = {
  m_exact: `comm == "ltsh_filterab"`,
  n_prefix: `comm == "ltsh_filter"`,
  n_longer: `comm == "ltsh_filterabc"`,
  m_ne_prefix: `comm != "ltsh_filter"`,
  n_ne_exact: `comm != "ltsh_filterab"`,
  m_or: `comm == "nope" || $pid > 1`,
  n_and_not: `comm == "ltsh_filterab" && !($tid > 0)`,
  m_u64: `args.rqtp > 0xffffffff && args.rqtp != 0xffffffffffffffff`,
  n_signed: `args.__syscall_nr < 0`,
  m_signed: `args.__syscall_nr >= 230 && args.__syscall_nr <= 230`,
  m_not_not: `!!(args.flags == 0)`,
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

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-filters", skip);
else test.run();
