// The `set NAME = VALUE` options: one table entry per option, with its type, default and
// documentation. FilePlan.options holds every option, defaults filled in; durations are
// integer nanoseconds and sizes integer bytes there.

import type { OptionValue } from "./plan.ts";

export type OptionType =
  /** Comma-separated tracepoint names; stored as "category:name" strings. */
  | "events"
  /** Integer with B, KiB, MiB or GiB (a bare integer is bytes); stored as bytes. */
  | "size"
  /** Integer with ns, us, ms or s; stored as nanoseconds. */
  | "duration"
  /** A positive integer. */
  | "count"
  /** A string or a bare name; "" means unset. */
  | "string";

export interface OptionSpec {
  name: string;
  type: OptionType;
  default: OptionValue;
  doc: string;
  /** Inclusive bounds for numeric types (bytes, ns, count). */
  min?: number;
  max?: number;
  /** Extra constraint; returns an error message or null. */
  validate?: (value: OptionValue) => string | null;
}

const MiB = 1024 * 1024;

export const OPTIONS: OptionSpec[] = [
  {
    name: "snapshot.events",
    type: "events",
    default: [
      "sched:sched_switch",
      "sched:sched_waking",
      "sched:sched_wakeup",
      "irq:irq_handler_entry",
      "irq:irq_handler_exit",
      "irq:softirq_entry",
      "irq:softirq_exit",
    ],
    doc: "events the flight recorder keeps for snapshots",
  },
  {
    name: "snapshot.buffer",
    type: "size",
    default: 8 * MiB,
    min: 4096,
    max: 1024 * MiB,
    doc: "flight-recorder buffer size in all, split evenly across the CPUs",
  },
  {
    name: "snapshot.margin",
    type: "duration",
    default: 10_000_000,
    min: 0,
    max: 10_000_000_000,
    doc: "how long after the hit the recorder keeps running before the snapshot is taken",
  },
  {
    name: "snapshot.rate",
    type: "count",
    default: 1,
    min: 1,
    max: 1000,
    doc: "most snapshots per second per tracker; more are counted as skipped",
  },
  {
    name: "snapshot.dir",
    type: "string",
    default: "snapshots",
    doc: "directory the snapshots are written to",
  },
  {
    name: "snapshot.lttng",
    type: "string",
    default: "",
    doc: "LTTng session to snapshot as well (empty: none)",
  },
  {
    name: "exec.rate",
    type: "count",
    default: 10,
    min: 1,
    max: 1000,
    doc: "most exec actions per second per tracker; more are counted as skipped",
  },
  {
    name: "exec.timeout",
    type: "duration",
    default: 5_000_000_000,
    min: 1_000_000,
    max: 3_600_000_000_000,
    doc: "an exec action still running after this is killed",
  },
  {
    name: "ringbuf.size",
    type: "size",
    default: 256 * 1024,
    min: 4096,
    max: 1024 * MiB,
    validate: (v) =>
      ((v as number) & ((v as number) - 1)) === 0
        ? null
        : "the ring buffer size must be a power of two",
    doc: "BPF ring buffer carrying hits to user space",
  },
];

export function findOption(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === name);
}

export function defaultOptions(): Record<string, OptionValue> {
  return Object.fromEntries(OPTIONS.map((o) => [o.name, structuredClone(o.default)]));
}
