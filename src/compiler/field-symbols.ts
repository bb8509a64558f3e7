// Fields whose numbers have names, as the kernel's own print formats show them: the task
// state letters of sched_switch, system call numbers, softirq vectors. One table, used by
// `then print(FIELD)` on every backend and by the replay reader of state letters.

import { SOFTIRQ_NAMES } from "./contexts.ts";
import type { FieldSymbols, ProbePlan } from "./plan.ts";
import { syscallName } from "./syscalls-x86-64.ts";

/** Per probe (`category:name`, or `category:` for every event of a category), field → symbols. */
const SYMBOLIC_FIELDS: Record<string, Record<string, FieldSymbols>> = {
  "sched:sched_switch": { prev_state: "task-state" },
  "raw_syscalls:sys_enter": { id: "syscall" },
  "raw_syscalls:sys_exit": { id: "syscall" },
  "syscalls:": { __syscall_nr: "syscall" },
  "irq:softirq_raise": { vec: "softirq" },
  "irq:softirq_entry": { vec: "softirq" },
  "irq:softirq_exit": { vec: "softirq" },
};

/** How a field of this probe reads as a name, or null when it is just a number. */
export function fieldSymbols(probe: ProbePlan, field: string): FieldSymbols | null {
  const table = SYMBOLIC_FIELDS[probe.id] ?? SYMBOLIC_FIELDS[`${probe.category}:`];
  return table?.[field] ?? null;
}

/** sched_switch prev_state letters (__print_flags in its print fmt) → the state bits. */
export const TASK_STATE_BITS: Record<string, number> = {
  R: 0,
  S: 0x1,
  D: 0x2,
  T: 0x4,
  t: 0x8,
  X: 0x10,
  Z: 0x20,
  P: 0x40,
  I: 0x80,
};
/** TASK_REPORT_MAX: printed as a trailing "+" (the task was preempted while runnable). */
export const TASK_REPORT_MAX = 0x100;

/** The state bits as the kernel prints them: "S", "D|K"-style joins, "R+" when preempted. */
export function taskStateText(state: number): string {
  const letters = Object.entries(TASK_STATE_BITS)
    .filter(([, bit]) => bit !== 0 && (state & bit) !== 0)
    .map(([letter]) => letter);
  const plus = (state & TASK_REPORT_MAX) !== 0 ? "+" : "";
  return `${letters.length > 0 ? letters.join("|") : "R"}${plus}`;
}

/** The name of a value under its symbols, or null when the value has none. */
export function symbolText(symbols: FieldSymbols, value: bigint): string | null {
  const n = Number(value);
  switch (symbols) {
    case "task-state":
      return taskStateText(n);
    case "syscall":
      return n >= 0 ? syscallName(n) : null;
    case "softirq":
      return SOFTIRQ_NAMES[n] ?? null;
  }
}
