// `ltsh record`'s task names (src/commands/record-names.ts): a line that tracefs printed as
// `<...>` (its saved_cmdlines cache lost the name) gets the name the trace gave the task
// last (the switch to it, a waking, a fork, a rename), else /proc's; a replay's `comm` filter
// then matches it. Every other byte stays as it was.

import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TaskNameWriter, taskHistories } from "../../src/commands/record-names.ts";
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

// A shell forks a child that execs ltwork; tracefs prints the child by its name at read time,
// ltwork, from its fork on. Later its tid is reused by a new task that execs dd.
/** sh (50) forks 51, named sh; and 51's rename to `to`, its line printed as `task`. */
const fork = (ts: string) =>
  ftrace(ts, 0, "sh-50", "sched_process_fork", "comm=sh pid=50 child_comm=sh child_pid=51");
const rename = (ts: string, task: string, to: string) =>
  ftrace(ts, 0, task, "task_rename", `pid=51 oldcomm=sh newcomm=${to} oom_score_adj=0`);
const execLines = [
  fork("200.000100"),
  ftrace("200.000200", 0, "ltwork-51", "sys_enter", "NR 273 (0, 0, 0, 0, 0, 0)"),
  ftrace("200.000260", 0, "ltwork-51", "sys_exit", "NR 273 = 0"),
  rename("200.000300", "ltwork-51", "ltwork"),
  ftrace("200.000400", 0, "ltwork-51", "sys_enter", "NR 12 (0, 0, 0, 0, 0, 0)"),
  ftrace("200.000470", 0, "ltwork-51", "sys_exit", "NR 12 = 0"),
  fork("200.000500"),
  ftrace("200.000600", 0, "dd-51", "sys_enter", "NR 273 (0, 0, 0, 0, 0, 0)"),
  rename("200.000700", "dd-51", "dd"),
  ftrace("200.000800", 0, "dd-51", "sys_enter", "NR 0 (0, 0, 0, 0, 0, 0)"),
  // never renamed: as printed
  ftrace("200.000900", 0, "sh-50", "sys_enter", "NR 61 (0, 0, 0, 0, 0, 0)"),
];
const execText = `# tracer: nop\n${execLines.join("\n")}\n`;

async function renamed(size: number) {
  const chunks = () =>
    Readable.from(
      Array.from({ length: Math.ceil(execText.length / size) }, (_, i) =>
        Buffer.from(execText.slice(i * size, (i + 1) * size), "latin1"),
      ),
    );
  const writer = new TaskNameWriter(proc, await taskHistories(chunks()));
  const out = await buffer(chunks().pipe(writer));
  return { lines: out.toString("latin1").split("\n").slice(1, -1), writer };
}

test("with forks and renames recorded, a task is named as it was when each event fired", async () => {
  const { lines: out, writer } = await renamed(9);
  const tasks = out.map((line) => line.slice(0, line.indexOf(" [")).trim());
  assert.equal(tasks, [
    "sh-50",
    "sh-51", // before its exec: the kernel's name, not the one printed
    "sh-51",
    "sh-51", // the rename's own line: it fires before the new name is set
    "ltwork-51",
    "ltwork-51",
    "sh-50",
    "sh-51", // the tid reused: the new task's name, from its fork to its rename
    "sh-51",
    "dd-51",
    "sh-50",
  ]);
  assert.is(writer.renamed, 5);
  const before = execText.split("\n").slice(1, -1);
  for (const [i, line] of out.entries()) {
    assert.is(line.slice(line.indexOf(" [")), before[i].slice(before[i].indexOf(" [")));
  }
});

test("a replay filtering on comm sees the task's syscalls before its exec as the kernel did", async () => {
  const trackers = () =>
    compileTrackers(
      'track s: raw_syscalls:sys_enter($tid) where comm == "ltwork" -> raw_syscalls:sys_exit($tid) > 1ns',
    );
  const printed = await runLines(trackers(), execText.split("\n").slice(1, -1));
  assert.equal(
    printed.hits.map((h) => h.latency_ns),
    [60_000, 70_000],
    "as printed, the syscall before the exec is ltwork's",
  );
  const { lines: out } = await renamed(64);
  const named = await runLines(trackers(), out);
  assert.equal(
    named.hits.map((h) => h.latency_ns),
    [70_000],
  );
});

test.run();
