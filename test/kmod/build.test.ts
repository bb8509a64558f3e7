// The generated C, with the runtime and lt_module.c it links, builds against real kernel
// headers with no warning and passes checkpatch: one module holding all seven example
// trackers, two more and two chains (one build keeps it ~10 s). Skips, saying why, where Debian's
// linux-headers-amd64 or checkpatch.pl are missing.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateModule, writeModule } from "../../src/compiler/kmod/target.ts";
import { exampleFiles, exampleSource } from "../corpus.ts";
import { checkpatchPath, kernelHeaders, planOf } from "./support.ts";

const headers = kernelHeaders();
const checkpatch = checkpatchPath();

/**
 * Builtins, string filters, && inside || and keep last, print fields: what the examples do
 * not use; then
 * a long name and conditions long enough to be wrapped.
 */
const EXTRA = `track extra: sched_wakeup($uid, $cgroup) where comm == "ltwork" && ($cpu == 0 || !(prio > 120))
    -> sched_switch($uid, $cgroup) where next_comm != "x" > 1us keep last capacity 100
    then print(prio, prev_state, next_comm)
track a_tracker_with_a_name_long_enough_to_be_cut_in_c:
    sched_wakeup(comm) where comm == "ltwork" && prio < 100 || comm == "somethingelse" && prio > 5
    -> sched_switch(next_comm) where next_comm != "x" && next_prio < 120 && prev_state != 0 || next_pid == 1
track chain_lo: softirq_raise where vec == 3 ~> sched_switch where next_comm == "udp-reader"
    until block > 1us cancel sched_switch where prev_comm == "x"
track chain_rpc: irq_handler_entry where irq == 24 && name != "timer" ~> softirq_entry where vec == 3
    ~> sys_exit_recvfrom($tid) -> sys_enter_write($tid) where comm == "r" > 1us timeout 1s
`;

function allExamples(): string {
  const examples = exampleFiles().map(exampleSource);
  return [...examples, EXTRA].join("\n");
}

const module = generateModule(planOf(allExamples(), "examples.lt"));
const dir = mkdtempSync(join(tmpdir(), `ltsh-${process.pid}-kmod-test-`));
writeModule(module, dir);

test("all seven example trackers (and more: chains too) make one module", () => {
  assert.equal(
    module.model.trackers.map((t) => t.plan.name).sort(),
    [
      "block",
      "extra",
      "irq",
      "network",
      "offcpu",
      "syscall",
      "ttfb",
      "wakeup",
      "a_tracker_with_a_name_long_enough_to_be_cut_in_c",
      "chain_lo",
      "chain_rpc",
    ].sort(),
  );
});

if (headers) {
  test(`it builds against ${headers} with no warning`, () => {
    const make = spawnSync("make", ["-C", headers, `M=${dir}`, "modules"], {
      encoding: "utf8",
      timeout: 180_000,
    });
    const log = `${make.stdout}${make.stderr}`;
    assert.is(make.status, 0, log);
    assert.not.match(log, /warning:/i, log);
    assert.ok(readdirSync(dir).includes("lt_examples.ko"));
  });
} else {
  console.log(
    "  skip kmod build: no /usr/src/linux-headers-*-amd64 (apt-get install linux-headers-amd64)",
  );
}

if (checkpatch) {
  test("the generated C and the runtime it links are checkpatch-clean", () => {
    const sources = readdirSync(dir).filter((f) => /^lt_[^.]*\.[ch]$/.test(f)); // not *.mod.c
    assert.ok(sources.includes("lt_examples_main.c") && sources.includes("lt_module.c"));
    const run = spawnSync(checkpatch, ["--no-tree", "-f", "--terse", ...sources], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.is(run.status, 0, run.stdout);
    assert.is(run.stdout, "");
  });
} else {
  console.log("  skip checkpatch: no ~/.cache/ltsh-checkpatch (make -C kmod-runtime checkpatch)");
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
