// What ltsh adds to a snapshot file around the recorded trace: comment lines naming the hit
// (readers of ftrace text, ltsh's replay among them, skip '#' lines), read back by `ltsh show`;
// and an atrace marker pair (`tracing_mark_write: B|tgid|name` … `E|tgid|name`) on the keyed
// task at the hit's begin and end, so that Perfetto's systrace importer shows the hit as a
// slice on that task's track. The E marker carries ltsh's name too: Perfetto ignores what
// follows `E|tgid`, and a replay then tells ltsh's markers from others line by line.

import { formatDuration, formatKey, hitToJson } from "./output.ts";
import type { EventContext, HitRecord, KeyValue } from "./types.ts";

/** The comment line that carries the hit as its NDJSON record. */
export const HIT_NOTE_PREFIX = "# ltsh hit: ";

/** The task a hit is about: the keyed task when the key names one, else the begin's task. */
export interface MarkedTask {
  tid: number;
  /** Thread-group id (the B|tgid| field); the tid when the trace does not say. */
  pid: number;
  comm: string;
}

/** Comment lines for the top of a snapshot: one for people, one for `ltsh show`. */
export function hitNoteLines(hit: HitRecord, task: MarkedTask | null): string[] {
  return [
    `# ltsh snapshot: tracker ${hit.tracker}, ${hit.kind} hit, latency ${hit.latency_ns} ns`,
    `${HIT_NOTE_PREFIX}${hitToJson({ ...hit, snapshot: null })}`,
    ...(task === null ? [] : [`# ltsh task: ${task.tid} ${task.pid} ${task.comm}`]),
  ];
}

/** What a snapshot's header says about its hit; null when it was not written by ltsh. */
export interface HitNote {
  hit: HitRecord;
  /** The keyed task, when the key named one. */
  task: MarkedTask | null;
}

/** Reads the note back from a snapshot's header comments (timestamps and keys stay exact). */
export function parseHitNote(header: readonly string[]): HitNote | null {
  const line = header.find((l) => l.startsWith(HIT_NOTE_PREFIX));
  if (line === undefined) return null;
  let hit: HitRecord;
  try {
    hit = JSON.parse(line.slice(HIT_NOTE_PREFIX.length), exactIntegers) as HitRecord;
  } catch {
    return null;
  }
  if (hit?.type !== "hit" || typeof hit.begin?.ts_ns !== "bigint") return null;
  hit.latency_ns = Number(hit.latency_ns);
  const taskLine = header.find((l) => l.startsWith("# ltsh task: "));
  const task = /^# ltsh task: (\d+) (-?\d+) (.*)$/.exec(taskLine ?? "");
  return {
    hit,
    task: task === null ? null : { tid: +task[1], pid: +task[2], comm: task[3] },
  };
}

/** JSON.parse reviver: ts_ns and integer keys become bigint from their source text. */
function exactIntegers(
  this: unknown,
  name: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  const integer = typeof value === "number" && context?.source !== undefined;
  if (!integer) return value;
  const keyElement = Array.isArray(this) && /^\d+$/.test(name);
  return name === "ts_ns" || keyElement ? BigInt(context.source as string) : value;
}

// "<comm>-<pid> [(tgid)] [cpu] [flags] secs.frac: event: ..." — the comm may hold spaces and
// dashes, so the timestamp is found after the "[NNN]" CPU column rather than by splitting.
const EVENT_TIMESTAMP = /\[(\d{3,})\]\s+(?:\S+\s+)?(\d+)\.(\d{1,9}):\s/;

/** Nanoseconds of an event line's timestamp, or null for anything else (comments, stacks). */
export function eventTimestampNs(line: string): bigint | null {
  const match = EVENT_TIMESTAMP.exec(line);
  if (match === null) return null;
  const seconds = BigInt(match[2] as string);
  const fraction = BigInt((match[3] as string).padEnd(9, "0"));
  return seconds * 1_000_000_000n + fraction;
}

/** Digits after the dot in the trace's timestamps (tracefs prints 6). */
function fractionDigits(lines: readonly string[]): number {
  for (const line of lines) {
    const match = EVENT_TIMESTAMP.exec(line);
    if (match !== null) return (match[3] as string).length;
  }
  return 6;
}

// The task column of a tracefs line, and the fields that name a task in sched events.
const LINE_TASK = /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[\d{3,}\]/;

/** The tid, tgid and name of `tid` as the window's lines show it; null when it never appears. */
function findTask(lines: readonly string[], tid: number): MarkedTask | null {
  const asField = new RegExp(
    `(?:^|\\s)(?:next_|prev_)?comm=([^=]+?) (?:next_|prev_)?pid=${tid}\\b`,
  );
  let named: MarkedTask | null = null;
  for (const line of lines) {
    const column = LINE_TASK.exec(line);
    if (column !== null && +column[2] === tid) {
      const tgid = column[3] !== undefined && column[3][0] !== "-" ? +column[3] : tid;
      return { tid, pid: tgid, comm: column[1] };
    }
    const field: RegExpExecArray | null = named === null ? asField.exec(line) : null;
    if (field !== null) named = { tid, pid: tid, comm: field[1] };
  }
  return named;
}

/**
 * The keyed task: a key of one integer that the pair's own events name as a task (they ran
 * in it, or a pid/tid field of theirs holds it), as the window shows it. Keys such as IRQ
 * numbers or addresses name no task.
 */
export function keyedTask(hit: HitRecord, lines: readonly string[]): MarkedTask | null {
  const [key, ...rest] = hit.key as KeyValue[];
  if (rest.length > 0 || typeof key !== "bigint" || key <= 0n || key > 4_194_304n) return null;
  const tid = Number(key);
  const contexts = [hit.begin, hit.end].filter((c): c is EventContext => c !== null);
  const field = new RegExp(`\\b\\w*(?:pid|tid)=${tid}\\b`);
  const named = contexts.some(
    (c) => c.tid === tid || c.pid === tid || field.test(shownEvent(lines, c)?.line ?? ""),
  );
  if (!named) return null;
  const ran = contexts.find((c) => c.tid === tid);
  return findTask(lines, tid) ?? (ran ? contextTask(ran) : null);
}

function contextTask(context: EventContext): MarkedTask {
  return { tid: context.tid, pid: context.pid > 0 ? context.pid : context.tid, comm: context.comm };
}

/** The end of a hit's pair; for a timeout, the deadline (begin + time waited). */
export function hitEndNs(hit: HitRecord): bigint {
  return hit.end?.ts_ns ?? hit.begin.ts_ns + BigInt(hit.latency_ns);
}

/** ltsh's own markers (a replay of a snapshot must not copy them into its snapshots). */
export function isHitMarkerLine(line: string): boolean {
  return /tracing_mark_write: [BE]\|\d+\|ltsh /.test(line);
}

/** One tracefs-shaped `tracing_mark_write` line (`%16s-%-7d (%7d) [%03d] flags %5lu.%06lu`). */
export function markerLine(
  task: MarkedTask,
  cpu: number,
  tsNs: bigint,
  digits: number,
  payload: string,
): string {
  const seconds = (tsNs / 1_000_000_000n).toString().padStart(5);
  const fraction = (tsNs % 1_000_000_000n).toString().padStart(9, "0").slice(0, digits);
  const cpuColumn = String(cpu).padStart(3, "0");
  return (
    `${task.comm.padStart(16)}-${String(task.tid).padEnd(7)} (${String(task.pid).padStart(7)}) ` +
    `[${cpuColumn}] ..... ${seconds}.${fraction}: tracing_mark_write: ${payload}`
  );
}

/** How far the trace's own clock may be from the tracker's on the same event. */
const SNAP_NS = 50_000n;

// The CPU, time and event name of an event line.
const EVENT_HEAD = /\[(\d{3,})\]\s+(?:\S+\s+)?(\d+)\.(\d{1,9}):\s+(\w+):/;

/**
 * The line of a hit's event in the window: the `probe` line on its CPU nearest to its time
 * (the tracker and ftrace read the clock a moment apart); null when the window lacks it.
 */
function shownEvent(lines: readonly string[], context: EventContext) {
  const name = context.probe.slice(context.probe.indexOf(":") + 1);
  const ns = context.ts_ns;
  const distance = (ts: bigint) => (ts > ns ? ts - ns : ns - ts);
  let best: { line: string; ts: bigint } | null = null;
  for (const line of lines) {
    const head = EVENT_HEAD.exec(line);
    if (head === null || head[4] !== name || +head[1] !== context.cpu) continue;
    const ts = BigInt(head[2]) * 1_000_000_000n + BigInt(head[3].padEnd(9, "0"));
    if (distance(ts) <= SNAP_NS && (best === null || distance(ts) < distance(best.ts)))
      best = { line, ts };
  }
  return best;
}

/**
 * The window's lines with the hit's B marker after its begin event and the E marker after
 * its end event (a timeout's at its deadline); stack lines stay with their event.
 */
export function withHitMarkers(
  lines: readonly string[],
  hit: HitRecord,
  task: MarkedTask,
): string[] {
  const digits = fractionDigits(lines);
  const resolution = 10n ** BigInt(9 - digits);
  const atResolution = (ns: bigint) => ns - (ns % resolution);
  const name = `ltsh ${hit.tracker} ${formatDuration(hit.latency_ns)} key=${formatKey(hit.key)}`;
  const { begin, end } = hit;
  // On the events as the file shows them, so that the slice starts and ends exactly there.
  const beginAt = atResolution(shownEvent(lines, begin)?.ts ?? begin.ts_ns);
  let endAt = atResolution(
    end === null ? hitEndNs(hit) : (shownEvent(lines, end)?.ts ?? end.ts_ns),
  );
  // A slice never ends before it begins, whatever the two clocks said.
  if (endAt < beginAt) endAt = beginAt;
  const endCpu = end?.cpu ?? begin.cpu;
  const pending = [
    { at: beginAt, line: markerLine(task, begin.cpu, beginAt, digits, `B|${task.pid}|${name}`) },
    {
      at: endAt,
      line: markerLine(task, endCpu, endAt, digits, `E|${task.pid}|ltsh ${hit.tracker}`),
    },
  ];
  const out: string[] = [];
  for (const line of lines) {
    const ts = eventTimestampNs(line);
    while (ts !== null && pending.length > 0 && ts > pending[0].at) {
      out.push((pending.shift() as { line: string }).line);
    }
    out.push(line);
  }
  for (const marker of pending) out.push(marker.line);
  return out;
}

/**
 * Header comments, the note, then the window with its markers: a snapshot file's lines.
 * `markers`: false for a window of perf or babeltrace text, where a tracefs line would not
 * belong (and Perfetto would not read the file anyway).
 */
export function annotatedSnapshot(
  header: readonly string[],
  lines: readonly string[],
  hit: HitRecord,
  markers = true,
): string[] {
  const task = keyedTask(hit, lines);
  const window = markers ? withHitMarkers(lines, hit, task ?? contextTask(hit.begin)) : lines;
  return [...header, ...hitNoteLines(hit, task), ...window];
}
