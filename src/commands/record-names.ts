// Task names in `ltsh record`'s text. tracefs prints each line's task name from its
// saved_cmdlines cache at read time, and the recorder reads its frozen buffer only at the
// end: a task whose name the cache lost or never saved prints as `<...>` (3% of the lines of
// a minute's recording beside a udp workload here). A replay filtering on `comm` then misses its events and its hits show no
// name. The trace itself names most of them: a task's events on a CPU follow the switch that
// put it there (next_comm), and wakings, forks and renames carry the name too. This writer
// names a `<...>` line from the last of those before it, or from /proc while the task lives.
// Every other byte passes through as recorded (lines are decoded as latin1: byte for char).

import type { ProcessName } from "../compiler/hit-captures.ts";
import { LineRewriter } from "./record-irq-return.ts";

const UNNAMED = /^( *)<\.\.\.>-(\d+) /;
/** Events whose payload names tasks: [pattern, name group, tid group] pairs. */
const NAMING: [RegExp, number, number][] = [
  [/: sched_switch: prev_comm=(.*) prev_pid=(\d+) /, 1, 2],
  [/ ==> next_comm=(.*) next_pid=(\d+) /, 1, 2],
  [/: sched_(?:waking|wakeup|wakeup_new): comm=(.*) pid=(\d+) prio=/, 1, 2],
  [/: sched_process_fork: comm=(.*) pid=(\d+) child_comm=/, 1, 2],
  [/ child_comm=(.*) child_pid=(\d+)/, 1, 2],
  [/: task_rename: pid=(\d+) oldcomm=.* newcomm=(.*) oom_score_adj=/, 2, 1],
];

export class TaskNameWriter extends LineRewriter {
  private readonly names = new Map<number, string>();
  /** Tasks /proc did not name (gone): not read again for each of their lines. */
  private readonly unknown = new Set<number>();
  /** `<...>` lines named, and those left so (no event or /proc named the task). */
  named = 0;
  unnamed = 0;

  constructor(private readonly procName: ProcessName) {
    super();
  }

  protected rewrite(bytes: Buffer): Buffer {
    const lines = bytes.toString("latin1").split("\n");
    let changed = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // first: a switch away names the task whose line it is (prev_comm)
      if (line.includes("comm=")) this.learn(line);
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
