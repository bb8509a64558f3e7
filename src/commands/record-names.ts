// Task names in `ltsh record`'s text. tracefs prints each line's task name from its
// saved_cmdlines cache at read time, and the recorder reads its frozen buffer only at the
// end: a task whose name the cache lost or never saved prints as `<...>` (3% of the lines of
// a minute's recording beside a udp workload here). A replay filtering on `comm` then misses its events and its hits show no
// name. The trace itself names most of them: a task's events on a CPU follow the switch that
// put it there (next_comm), and wakings, forks and renames carry the name too. This writer
// names a `<...>` line from the last of those before it, or from /proc while the task lives.
//
// Read-time names are also wrong for a task renamed during the recording (an exec renames
// it): its lines before the rename print the later name, as the shell's child that execs a
// workload prints the workload's name from its fork, though the kernel (and a live
// tracker's `comm`) saw "sh". When the recording has task_rename and sched_process_fork
// (`--for-file` adds them), a first pass lists each task's forks and renames (taskHistories)
// and this writer names every line of a renamed task as it was named when the event fired:
// the old name of its next rename, else the new name of its last one. The first pass reads
// the frozen buffer once more: over 36 MB of text here, 190 ms of this writer's parsing
// become 290 ms with both passes, beside tracefs formatting the text twice.
// Every other byte passes through as recorded (lines are decoded as latin1: byte for char).

import type { ProcessName } from "../compiler/hit-captures.ts";
import { LineRewriter, LineRuns } from "./record-irq-return.ts";

const UNNAMED = /^( *)<\.\.\.>-(\d+) /;
/** A line's task: its indent, name and tid (the name may hold spaces and dashes). */
const TASK = /^( *)(.+?)-(\d+) +[([]/;
const RENAME = /: task_rename: pid=(\d+) oldcomm=(.*) newcomm=(.*) oom_score_adj=/;
const FORK = /: sched_process_fork: comm=.* pid=\d+ child_comm=(.*) child_pid=(\d+)/;

/** A task's name changes in a recording, in order: forked with a name, or renamed. */
type NameChange = { fork: string } | { from: string; to: string };

/** Each task's forks and renames in the recording's text, in line order (a first pass). */
export async function taskHistories(
  chunks: AsyncIterable<Buffer>,
): Promise<Map<number, NameChange[]>> {
  const histories = new Map<number, NameChange[]>();
  const add = (tid: number, change: NameChange) => {
    const list = histories.get(tid) ?? [];
    list.push(change);
    histories.set(tid, list);
  };
  const scan = (bytes: Buffer) => {
    for (const line of bytes.toString("latin1").split("\n")) {
      const rename = line.includes("task_rename") ? RENAME.exec(line) : null;
      if (rename) add(Number(rename[1]), { from: rename[2], to: rename[3] });
      const fork = line.includes("sched_process_fork") ? FORK.exec(line) : null;
      if (fork) add(Number(fork[2]), { fork: fork[1] });
    }
  };
  const runs = new LineRuns();
  for await (const chunk of chunks) scan(runs.push(chunk));
  scan(runs.end());
  // tasks forked and never renamed keep their read-time names
  for (const [tid, list] of histories) {
    if (!list.some((c) => "from" in c)) histories.delete(tid);
  }
  return histories;
}
/** Events whose payload names tasks: [pattern, name group, tid group] pairs. */
const NAMING: [RegExp, number, number][] = [
  [/: sched_switch: prev_comm=(.*) prev_pid=(\d+) /, 1, 2],
  [/ ==> next_comm=(.*) next_pid=(\d+) /, 1, 2],
  [/: sched_(?:waking|wakeup|wakeup_new): comm=(.*) pid=(\d+) prio=/, 1, 2],
  [/: sched_process_fork: comm=(.*) pid=(\d+) child_comm=/, 1, 2],
  [FORK, 1, 2],
  [RENAME, 3, 1],
];

export class TaskNameWriter extends LineRewriter {
  private readonly names = new Map<number, string>();
  /** Tasks /proc did not name (gone): not read again for each of their lines. */
  private readonly unknown = new Set<number>();
  /** `<...>` lines named, and those left so (no event or /proc named the task). */
  named = 0;
  unnamed = 0;

  /** Per renamed task, how many of its forks and renames the lines have passed. */
  private readonly passed = new Map<number, number>();
  /** Lines of renamed tasks given the name of the moment (see taskHistories). */
  renamed = 0;

  constructor(
    private readonly procName: ProcessName,
    private readonly histories: Map<number, NameChange[]> = new Map(),
  ) {
    super();
  }

  protected rewrite(bytes: Buffer): Buffer {
    const lines = bytes.toString("latin1").split("\n");
    let changed = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // first: a switch away names the task whose line it is (prev_comm)
      if (line.includes("comm=")) this.learn(line);
      if (this.histories.size > 0) {
        const named = this.nameOfTheMoment(line);
        if (named !== line) {
          lines[i] = named;
          changed = true;
          this.renamed++;
          continue;
        }
      }
      const unnamed = UNNAMED.exec(line);
      if (unnamed !== null) {
        const tid = Number(unnamed[2]);
        const name = this.nameOf(tid);
        if (name === null) this.unnamed++;
        else {
          const width = unnamed[1].length + "<...>".length;
          lines[i] = `${name.padStart(width)}${line.slice(width)}`;
          changed = true;
          this.named++;
        }
      }
    }
    return changed ? Buffer.from(lines.join("\n"), "latin1") : bytes;
  }

  /**
   * The line with its task named as when its event fired, if the task is renamed in the
   * recording: the old name of its next rename, or the new name of its last one (the name it
   * was forked with, when a fork comes next: a new task with a reused tid). Then the line's
   * own fork or rename is passed.
   */
  private nameOfTheMoment(line: string): string {
    const task = TASK.exec(line);
    let out = line;
    if (task !== null) {
      const tid = Number(task[3]);
      const name = this.historyName(tid);
      if (name !== null && name !== task[2]) {
        const width = task[1].length + task[2].length;
        out = `${name.padStart(width)}${line.slice(width)}`;
      }
    }
    const changed = line.includes("task_rename")
      ? RENAME.exec(line)?.[1]
      : line.includes("sched_process_fork")
        ? FORK.exec(line)?.[2]
        : undefined;
    if (changed !== undefined && this.histories.has(Number(changed))) {
      const tid = Number(changed);
      this.passed.set(tid, (this.passed.get(tid) ?? 0) + 1);
    }
    return out;
  }

  private historyName(tid: number): string | null {
    const history = this.histories.get(tid);
    if (history === undefined) return null;
    const at = this.passed.get(tid) ?? 0;
    const next = history[at];
    if (next !== undefined && "from" in next) return next.from;
    const last = history[at - 1];
    if (last === undefined) return null;
    return "fork" in last ? last.fork : last.to;
  }

  private learn(line: string): void {
    for (const [pattern, name, tid] of NAMING) {
      const m = pattern.exec(line);
      if (m !== null && Number(m[tid]) !== 0) this.names.set(Number(m[tid]), m[name]);
    }
  }

  private nameOf(tid: number): string | null {
    const known = this.names.get(tid);
    if (known !== undefined) return known;
    if (this.unknown.has(tid)) return null;
    const name = this.procName(tid);
    if (name === null) {
      this.unknown.add(tid);
      return null;
    }
    // latin1 like the lines: the name's UTF-8 bytes, one char each
    const bytes = Buffer.from(name, "utf8").toString("latin1");
    this.names.set(tid, bytes);
    return bytes;
  }
}
