// Line parsers for the three text trace formats (ftrace, perf script, babeltrace2) and
// format detection. A parser returns the event, null for a line that is not an event
// (headers, comments, blank lines), or a string saying why the line is malformed.

import { splitFraction, type TraceEvent, type TraceFormat } from "./event.ts";
import { FtraceLineEvent, scanFtraceContext } from "./ftrace-scan.ts";

export type LineResult = TraceEvent | null | string;
export type LineParser = (line: string, lineNo: number) => LineResult;

// `comm-tid ( tgid) [cpu] flags secs.frac: rest`; comm may hold spaces and dashes, the
// tgid column appears with options/record-tgid, the flags column with irq-info.
const FTRACE_LINE =
  /^\s*(.+?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:\S{4,6}\s+)?(\d+)\.(\d+):\s+(.*)$/;

const EXPECTED_FTRACE = "expected 'comm-pid [cpu] secs.usecs: event: fields'";

function isSkippable(line: string): boolean {
  if (line.length === 0) return true;
  const first = line.charCodeAt(0);
  // '#' header comments of tracefs; trace-cmd report prints "cpus=2" / "version = 6" first.
  if (first === 35) return true;
  if (line.trim() === "") return true;
  return /^(cpus=\d+|version = )/.test(line) || line.startsWith("CPU:");
}

/**
 * A tracefs line parser that recognises the `interest` event names without copying them:
 * the event's name is then the interned string from the list (a fast Map key downstream).
 */
export function ftraceParser(
  interest: readonly string[] = [],
  options: { reuseEvent?: boolean } = {},
): LineParser {
  const names = interest.map((name) => ({ name, length: name.length }));
  // With reuseEvent the same object comes back for every line: for consumers that copy
  // what they keep (the interpreter does), it saves an allocation per line.
  let scratch = new FtraceLineEvent();
  return (line, lineNo) => {
    if (!options.reuseEvent) scratch = new FtraceLineEvent();
    const event = scratch;
    event.line = line;
    event.lineNo = lineNo;
    event.category = "";
    const restStart = scanFtraceContext(line, event);
    if (restStart >= 0) {
      for (const { name, length } of names) {
        if (line.charCodeAt(restStart + length) === 58 && line.startsWith(name, restStart)) {
          event.name = name;
          const payload =
            restStart + length + (line.charCodeAt(restStart + length + 1) === 32 ? 2 : 1);
          event.payload = line.slice(payload);
          return event;
        }
      }
      if (splitFtraceEvent(event, line.slice(restStart))) return event;
    }
    return parseFtraceLineByRegex(line, lineNo);
  };
}

export const parseFtraceLine: LineParser = ftraceParser();

/** The general (slower) parse, for lines the scanner does not take and for errors. */
export function parseFtraceLineByRegex(line: string, lineNo: number): LineResult {
  const m = FTRACE_LINE.exec(line);
  if (m === null) {
    if (isSkippable(line)) return null;
    // "CPU 1 is empty", "##### CPU 0 buffer started ####" from trace-cmd and tracefs.
    if (/^(CPU \d+ is empty|#####)/.test(line.trim())) return null;
    return EXPECTED_FTRACE;
  }
  const rest = m[7];
  const event: TraceEvent = {
    lineNo,
    line,
    name: "",
    category: "",
    sec: +m[5],
    nsec: splitFraction(m[6]),
    cpu: +m[4],
    tid: +m[2],
    pid: m[3] !== undefined && m[3][0] !== "-" ? +m[3] : -1,
    comm: m[1],
    payload: "",
  };
  return splitFtraceEvent(event, rest) ? event : "expected 'event: fields' after the timestamp";
}

/**
 * Splits "sched_switch: fields", and the syscall tracer's own shapes:
 * "sys_write(fd: 1, buf: 0x.., count: 2)" (sys_enter_write) and "sys_write -> 0x2" (sys_exit_write).
 */
function splitFtraceEvent(event: TraceEvent, rest: string): boolean {
  let end = 0;
  while (end < rest.length) {
    const c = rest.charCodeAt(end);
    if (c === 58 /* : */ || c === 40 /* ( */ || c === 32 /* space */) break;
    end++;
  }
  if (end === 0) return false;
  const name = rest.slice(0, end);
  const stop = rest.charCodeAt(end);
  if (stop === 40 && name.startsWith("sys_")) {
    event.name = `sys_enter_${name.slice(4)}`;
    event.category = "syscalls";
    event.payload = rest.slice(end + 1, rest.endsWith(")") ? -1 : undefined);
    return true;
  }
  if (stop === 32 && rest.startsWith(" -> ", end) && name.startsWith("sys_")) {
    event.name = `sys_exit_${name.slice(4)}`;
    event.category = "syscalls";
    event.payload = rest.slice(end + 4);
    return true;
  }
  event.name = name;
  event.payload =
    stop === 58
      ? rest.slice(rest.charCodeAt(end + 1) === 32 ? end + 2 : end + 1)
      : rest.slice(end + 1);
  return true;
}

// `comm tid [cpu] secs.frac: [period] category:name: fields` (perf script's default fields),
// also `comm pid/tid [cpu] ...` when pid is among the fields.
const PERF_LINE =
  /^\s*(.+?)\s+(\d+)(?:\/(\d+))?\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+(?:\d+\s+)?([\w.-]+):([\w.-]+):\s?(.*)$/;

export const parsePerfLine: LineParser = (line, lineNo) => {
  const m = PERF_LINE.exec(line);
  if (m === null) {
    return isSkippable(line)
      ? null
      : "expected 'comm tid [cpu] secs.usecs: category:event: fields'";
  }
  const hasPid = m[3] !== undefined;
  return {
    lineNo,
    line,
    name: m[8],
    category: m[7],
    sec: +m[5],
    nsec: splitFraction(m[6]),
    cpu: +m[4],
    tid: hasPid ? +m[3] : +m[2],
    pid: hasPid ? +m[2] : -1,
    comm: m[1],
    payload: m[9],
  };
};

// `[time] (+delta) host event: { ctx }, { fields }` (babeltrace2 text sink, LTTng CTF).
const BABELTRACE_LINE = /^\[([^\]]+)\]\s+(?:\([^)]*\)\s+)?(?:(\S+)\s+)?([\w:.-]+):\s+(\{.*)$/;
const BT_TIME = /^(?:(\d{4})-(\d\d)-(\d\d)\s+)?(?:(\d+):(\d\d):)?(\d+)\.(\d+)$/;
const BT_FIELD = /(\w+) = ("(?:[^"\\]|\\.)*"|[^,{}]+?)\s*(?=,|\}|$)/g;

/** LTTng's names for the kernel's tracepoints, where they differ. */
const LTTNG_EVENT_NAMES: Record<string, [string, string]> = {
  net_if_receive_skb: ["net", "netif_receive_skb"],
  net_dev_xmit: ["net", "net_dev_xmit"],
};

/** "sched:sched_switch" (CTF converted by perf) or LTTng's "sched_switch", "syscall_entry_write". */
function lttngEventName(raw: string): [string, string] {
  const colon = raw.lastIndexOf(":");
  const bare = colon >= 0 ? raw.slice(colon + 1) : raw;
  const known = LTTNG_EVENT_NAMES[bare];
  if (known) return known;
  if (bare.startsWith("syscall_entry_")) return ["syscalls", `sys_enter_${bare.slice(14)}`];
  if (bare.startsWith("syscall_exit_")) return ["syscalls", `sys_exit_${bare.slice(13)}`];
  // LTTng providers ("lttng_ust_tracef:event") are not kernel categories.
  const category = colon >= 0 && !raw.startsWith("lttng") ? raw.slice(0, colon) : "";
  return [category, bare];
}

function unquote(text: string): string {
  if (!text.startsWith('"')) return text.trim();
  try {
    return JSON.parse(text);
  } catch {
    // babeltrace escapes like C, not JSON (\x..): keep the text between the quotes.
    return text.slice(1, -1);
  }
}

export const parseBabeltraceLine: LineParser = (line, lineNo) => {
  const m = BABELTRACE_LINE.exec(line);
  if (m === null) {
    return isSkippable(line) ? null : "expected '[time] (+delta) event: { fields }'";
  }
  const t = BT_TIME.exec(m[1].trim());
  if (t === null) return "expected a timestamp like [12:34:56.789012345] or [1234.567890123]";
  let sec = +t[6];
  if (t[5] !== undefined) sec += +t[4] * 3600 + +t[5] * 60;
  if (t[1] !== undefined) sec += Date.UTC(+t[1], +t[2] - 1, +t[3]) / 1000;
  const [category, name] = lttngEventName(m[3]);
  const groups = m[4].split(/\}\s*,\s*\{/);
  const context = new Map<string, string>();
  const fields = new Map<string, string>();
  groups.forEach((group, i) => {
    const target =
      i === groups.length - 1 && !(groups.length === 1 && group.includes("cpu_id"))
        ? fields
        : context;
    for (const f of group.matchAll(BT_FIELD)) target.set(f[1], unquote(f[2]));
  });
  // LTTng puts the task in contexts (vtid, procname); perf's CTF in perf_tid/perf_pid fields.
  const tid = context.get("vtid") ?? context.get("tid") ?? fields.get("perf_tid");
  const pid = context.get("vpid") ?? context.get("pid") ?? fields.get("perf_pid");
  return {
    lineNo,
    line,
    name,
    category,
    sec,
    nsec: splitFraction(t[7]),
    cpu: +(context.get("cpu_id") ?? -1),
    tid: tid !== undefined ? +tid : -1,
    pid: pid !== undefined ? +pid : -1,
    comm: context.get("procname") ?? "",
    payload: "",
    fields,
  };
};

export const parsers: Record<TraceFormat, LineParser> = {
  ftrace: parseFtraceLine,
  perf: parsePerfLine,
  babeltrace: parseBabeltraceLine,
};

/** What each format's lines look like, for the error on a foreign file. */
export const FORMAT_EXAMPLES: Record<TraceFormat, string> = {
  ftrace: "bash-1234 [001] d..2. 372.426251: sched_switch: prev_comm=bash ...",
  perf: "bash 1234 [001] 372.426251: sched:sched_switch: prev_comm=bash ...",
  babeltrace: "[12:34:56.789012345] (+0.000001234) host sched_switch: { cpu_id = 1 }, { ... }",
};

/**
 * Picks the format whose parser accepts the most of the first event-looking lines.
 * Returns null when none accepts any (a foreign file).
 */
export function detectFormat(lines: readonly string[]): TraceFormat | null {
  let best: TraceFormat | null = null;
  let bestCount = 0;
  for (const format of Object.keys(parsers) as TraceFormat[]) {
    let count = 0;
    lines.forEach((line, i) => {
      const result = parsers[format](line.endsWith("\r") ? line.slice(0, -1) : line, i + 1);
      if (result !== null && typeof result === "object") count++;
    });
    if (count > bestCount) {
      best = format;
      bestCount = count;
    }
  }
  return best;
}
