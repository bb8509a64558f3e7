// One event of a recorded trace as the readers hand it to the interpreter: the line's
// context (time, cpu, task) parsed eagerly, the event's fields kept as text until needed.

export type TraceFormat = "ftrace" | "perf" | "babeltrace";

export interface TraceEvent {
  /** 1-based line number in the (decompressed) input. */
  lineNo: number;
  /** The line as read, for snapshots and error messages. */
  line: string;
  /** Bare event name as the kernel names the tracepoint: "sched_switch", "sys_enter_write". */
  name: string;
  /** "sched", or "" when the format does not say (tracefs text prints bare names). */
  category: string;
  /**
   * Time, split so that it stays exact: whole seconds and nanoseconds within the second.
   * Microsecond timestamps have nsec multiple of 1000.
   */
  sec: number;
  nsec: number;
  cpu: number;
  tid: number;
  /** Thread-group id, -1 when the trace does not have it (ftrace without record-tgid). */
  pid: number;
  comm: string;
  /** The event's own text after "name: " (ftrace, perf) or its fields already split (babeltrace). */
  payload: string;
  fields?: Map<string, string>;
}

/** The digits after the dot of "1234.567890" or "1234.567890123" → nanoseconds, exactly. */
export function splitFraction(fraction: string): number {
  if (fraction.length === 9) return +fraction;
  if (fraction.length === 6) return +fraction * 1000;
  if (fraction.length > 9) return +fraction.slice(0, 9);
  return +fraction.padEnd(9, "0");
}

/** The fraction's digits already read as a number, with how many there were → nanoseconds
 * (the scanners' form of splitFraction); -1 past nanosecond resolution. */
export function fractionDigitsToNs(fraction: number, places: number): number {
  if (places === 6) return fraction * 1000;
  if (places === 9) return fraction;
  if (places < 9) return fraction * 10 ** (9 - places);
  return -1;
}
