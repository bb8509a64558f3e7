// `ltsh record`'s task names (src/commands/record-names.ts): a line that tracefs printed as
// `<...>` (its saved_cmdlines cache lost the name) gets the name the trace gave the task
// last (the switch to it, a waking, a fork, a rename), else /proc's; a replay's `comm` filter
// then matches it. Every other byte stays as it was.

import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TaskNameWriter } from "../../src/commands/record-names.ts";
import { compileTrackers, ftrace, runLines } from "../replay/support.ts";

const lines = [
  ftrace(
    "100.000100",
    0,
    "<idle>-0",
    "sched_switch",
    "prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=reader next_pid=14 next_prio=120",
  ),
  ftrace("100.000200", 0, "<...>-14", "sched_waking", "comm=worker pid=20 prio=120 target_cpu=000"),
  ftrace(
    "100.000300",
    0,
    "<...>-14",
    "sched_switch",
    "prev_comm=reader prev_pid=14 prev_prio=120 prev_state=S ==> next_comm=worker next_pid=20 next_prio=120",
  ),
  // renamed on CPU 1 (its fork named it first), then seen on its own
  ftrace(
    "100.000400",
    1,
    "<...>-30",
    "sched_process_fork",
    "comm=sh pid=30 child_comm=sh child_pid=31",
  ),
  ftrace(
    "100.000500",
    1,
    "<...>-31",
    "task_rename",
    "pid=31 oldcomm=sh newcomm=dd oom_score_adj=0",
  ),
  ftrace("100.000600", 1, "<...>-31", "sys_enter", "NR 0 (0, 0, 0, 0, 0, 0)"),
  // nothing in the trace names these two: /proc names 40 (a name that is not UTF-8 valid
  // latin1 text: its bytes are kept), 41 is gone
  ftrace("100.000700", 1, "<...>-40", "sys_enter", "NR 0 (0, 0, 0, 0, 0, 0)"),
  ftrace("100.000800", 1, "<...>-41", "sys_enter", "NR 0 (0, 0, 0, 0, 0, 0)"),
];
const text = `# tracer: nop\n${lines.join("\n")}\n`;
const proc = (pid: number) => (pid === 40 ? "naïve" : null);

/** `text` as latin1 chunks of `size` bytes: lines split anywhere. */
const chunks = (size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
      Buffer.from(text.slice(i * size, (i + 1) * size), "latin1"),
    ),
  );

async function rewrite(size: number) {
  const writer = new TaskNameWriter(proc);
  const out = await buffer(chunks(size).pipe(writer));
  return { lines: out.toString("latin1").split("\n"), out, writer };
}

test("a <...> line takes the name its task had last in the trace, else /proc's", async () => {
  const { lines: out, writer } = await rewrite(7);
  const tasks = out.slice(1, -1).map((line) => line.slice(0, line.indexOf(" [")).trim());
  assert.equal(tasks, [
    "<idle>-0",
    "reader-14",
    "reader-14",
    "sh-30",
    "dd-31",
    "dd-31",
    Buffer.from("naïve-40", "utf8").toString("latin1"),
    "<...>-41",
  ]);
  assert.is(writer.named, 6);
  assert.is(writer.unnamed, 1);
});

test("only the task column changes: same width, every other byte as recorded", async () => {
  const { lines: out } = await rewrite(5);
  const before = text.split("\n");
  assert.is(out.length, before.length);
  for (let i = 0; i < out.length; i++) {
    const at = before[i].indexOf("<...>");
    if (at === -1 || out[i].includes("<...>")) assert.is(out[i], before[i]);
    else {
      assert.is(out[i].length, before[i].length, out[i]);
      assert.ok(out[i].endsWith(before[i].slice(at + "<...>".length)), out[i]);
    }
  }
});

test("a replay filtering on comm finds the task's events once it is named", async () => {
  const trackers = () =>
    compileTrackers(
      'track w: sched_waking(pid) -> sched_switch(next_pid) where comm == "reader" > 1us',
    );
  const before = await runLines(trackers(), text.split("\n").slice(1, -1));
  assert.is(before.hits.length, 0, "as printed, the task switching away is <...>");
  const { lines: out } = await rewrite(64);
  const after = await runLines(trackers(), out.slice(1, -1));
  assert.is(after.hits.length, 1);
  assert.is(after.hits[0].end?.comm, "reader");
  assert.is(after.hits[0].latency_ns, 100_000);
});

test.run();
