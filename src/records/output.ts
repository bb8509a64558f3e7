// How hits and summaries are shown: NDJSON for tools (the output contract of DESIGN.md,
// field order fixed, u64 values exact) and lines + histograms for people.

import type {
  ChainStage,
  EventContext,
  HitRecord,
  KeyValue,
  SegmentSummary,
  SummaryRecord,
} from "./types.ts";

// ---------------------------------------------------------------- NDJSON

/**
 * A string as JSON. Hits repeat the same few strings (tracker, probes, comms): each is
 * escaped once and looked up after, which halves the cost of a hit's line.
 */
const quotedStrings = new Map<string, string>();
const QUOTED_MAX = 10_000;
/** Longer strings (a path, a command line) are escaped each time: they seldom repeat. */
const QUOTED_LENGTH = 64;

function quoted(text: string): string {
  if (text.length > QUOTED_LENGTH) return JSON.stringify(text);
  let json = quotedStrings.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quotedStrings.size >= QUOTED_MAX) quotedStrings.clear();
    quotedStrings.set(text, json);
  }
  return json;
}

/** A JSON value; bigint becomes an exact number literal (JSON.stringify refuses bigint). */
function jsonValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return quoted(value);
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + jsonValue(value[i]);
    return `${text}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${quoted(k)}:${jsonValue(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function contextJson(context: EventContext | null): string {
  if (context === null) return "null";
  return (
    `{"probe":${quoted(context.probe)},"ts_ns":${context.ts_ns},"cpu":${context.cpu},` +
    `"tid":${context.tid},"pid":${context.pid},"comm":${quoted(context.comm)}}`
  );
}

/** One NDJSON line (no trailing newline), fields in the order of the output contract. */
export function hitToJson(hit: HitRecord): string {
  return (
    `{"type":"hit","tracker":${quoted(hit.tracker)},"kind":"${hit.kind}",` +
    `"latency_ns":${hit.latency_ns},"key":${jsonValue(hit.key)},` +
    `"begin":${contextJson(hit.begin)},"end":${contextJson(hit.end)},` +
    `"snapshot":${jsonValue(hit.snapshot)},"stack":${jsonValue(hit.stack)}` +
    `${hit.chain ? `,"chain":[${hit.chain.map(stageJson).join(",")}]` : ""}${hitAdditions(hit)}}`
  );
}

/** Fields later features add to a hit: present when the tracker has them, in this order. */
function hitAdditions(hit: HitRecord): string {
  let text = "";
  if (hit.key_comm !== undefined) text += `,"key_comm":${jsonValue(hit.key_comm)}`;
  if (hit.fields !== undefined) text += `,"fields":${jsonValue(hit.fields)}`;
  if (hit.fields_text !== undefined) text += `,"fields_text":${jsonValue(hit.fields_text)}`;
  return text;
}

function stageJson(s: ChainStage): string {
  return (
    `{"stage":${quoted(s.stage)},"probe":${quoted(s.probe)},"ts_ns":${s.ts_ns},` +
    `"cpu":${s.cpu},"tid":${s.tid},"pid":${s.pid},"comm":${quoted(s.comm)},` +
    `"dur_ns":${s.dur_ns},"detail":${JSON.stringify(s.detail)}}`
  );
}

function histJson(hist: SummaryRecord["hist"]): string {
  return `[${hist.map((b) => `{"le_ns":${b.le_ns},"count":${b.count}}`).join(",")}]`;
}

function segmentJson(s: SegmentSummary): string {
  return (
    `{"from":${JSON.stringify(s.from)},"to":${JSON.stringify(s.to)},"pairs":${s.pairs},` +
    `"min_ns":${jsonValue(s.min_ns)},"p50_ns":${jsonValue(s.p50_ns)},` +
    `"p99_ns":${jsonValue(s.p99_ns)},"max_ns":${jsonValue(s.max_ns)},"hist":${histJson(s.hist)},` +
    `"sum_ns":${s.sum_ns}}`
  );
}

/** Fields later backends report: present when the backend reports them, in this order. */
function summaryAdditions(summary: SummaryRecord): string {
  let text = "";
  if (summary.cancelled !== undefined) text += `,"cancelled":${summary.cancelled}`;
  if (summary.broken !== undefined) text += `,"broken":${summary.broken}`;
  if (summary.segments !== undefined) {
    text += `,"segments":[${summary.segments.map(segmentJson).join(",")}]`;
  }
  if (summary.notes !== undefined) text += `,"notes":${JSON.stringify(summary.notes)}`;
  return text;
}

export function summaryToJson(summary: SummaryRecord): string {
  return (
    `{"type":"summary","tracker":${JSON.stringify(summary.tracker)},"pairs":${summary.pairs},` +
    `"hits":${summary.hits},"timeouts":${summary.timeouts},"dropped":${summary.dropped},` +
    `"pending":${summary.pending},"min_ns":${jsonValue(summary.min_ns)},` +
    `"p50_ns":${jsonValue(summary.p50_ns)},"p99_ns":${jsonValue(summary.p99_ns)},` +
    `"max_ns":${jsonValue(summary.max_ns)},"hist":${histJson(summary.hist)},` +
    `"sum_ns":${summary.sum_ns},"missed":${summary.missed}${summaryAdditions(summary)}}`
  );
}

// ---------------------------------------------------------------- people

/** "850ns", "312.4us", "12.35ms", "1.204s": three significant digits, unit chosen by size. */
export function formatDuration(ns: number): string {
  const units: [number, string][] = [
    [1e9, "s"],
    [1e6, "ms"],
    [1e3, "us"],
  ];
  for (const [scale, unit] of units) {
    if (ns >= scale) return `${trimNumber(ns / scale)}${unit}`;
  }
  return `${ns}ns`;
}

function trimNumber(value: number): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  const text = value.toFixed(digits);
  return digits === 0 ? text : text.replace(/\.?0+$/, "");
}

/** Seconds.nanoseconds from integer nanoseconds, exactly (no float). */
export function formatTimestamp(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const seconds = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return `${negative ? "-" : ""}${seconds}.${fraction}`;
}

export function formatKey(key: readonly KeyValue[]): string {
  return key.map((v) => (typeof v === "string" ? JSON.stringify(v) : v.toString())).join(",");
}

/** `key=22899 (node-worker)` when the key is a task the hit names. */
function keyText(hit: HitRecord): string {
  const name = hit.key_comm ? ` (${hit.key_comm})` : "";
  return `key=${formatKey(hit.key)}${name}`;
}

/** ` prev_state=S id=read`: printed fields, a number's name when it has one. */
function fieldsText(hit: HitRecord): string {
  if (!hit.fields) return "";
  const parts = Object.entries(hit.fields).map(([name, value]) => {
    const text = hit.fields_text?.[name];
    if (text !== undefined) return `${name}=${text}`;
    if (value === null) return `${name}=-`;
    return `${name}=${typeof value === "string" ? JSON.stringify(value) : value}`;
  });
  return ` ${parts.join(" ")}`;
}

function formatContext(context: EventContext): string {
  const pid = context.pid >= 0 && context.pid !== context.tid ? `/${context.pid}` : "";
  return `${context.comm}-${context.tid}${pid} cpu${context.cpu}`;
}

/**
 * One line per hit: time, tracker, latency, key, begin and end task.
 * `1234.567890123 wakeup 312.4us key=1234 bash-1234 cpu1 -> cyclictest-1234 cpu0`
 */
export function formatHitLine(hit: HitRecord): string {
  if (hit.chain) return formatChainHitLine(hit, hit.chain);
  const time = formatTimestamp(hit.end ? hit.end.ts_ns : hit.begin.ts_ns);
  const latency = formatDuration(hit.latency_ns);
  const end = hit.end ? formatContext(hit.end) : "(timeout: no end)";
  const extras = hit.snapshot ? ` snapshot=${hit.snapshot}` : "";
  return (
    `${time} ${hit.tracker} ${hit.kind === "timeout" ? "TIMEOUT " : ""}${latency} ` +
    `${keyText(hit)} ${formatContext(hit.begin)} -> ${end}${fieldsText(hit)}${extras}`
  );
}

/**
 * A chain hit: the origin, then each stage with the time it took.
 * `1234.567890123 netrx 412us irq24 swapper/0 cpu0 +4us raise NET_RX +250us softirq
 * ksoftirqd/0 +12us waking reader-1234 +146us run cpu1`
 */
function formatChainHitLine(hit: HitRecord, chain: ChainStage[]): string {
  const last = chain[chain.length - 1];
  const time = formatTimestamp(hit.end ? hit.end.ts_ns : last.ts_ns);
  const latency = formatDuration(hit.latency_ns);
  const [origin, ...stages] = chain;
  const label = origin.detail || probeName(origin.probe);
  const parts = [`${label} ${taskName(origin)} cpu${origin.cpu}`];
  for (const s of stages) parts.push(`+${formatDuration(s.dur_ns)} ${stageText(s)}`);
  const stuck = hit.kind === "timeout" ? " (no end)" : "";
  const extras = hit.snapshot ? ` snapshot=${hit.snapshot}` : "";
  return `${time} ${hit.tracker} ${hit.kind === "timeout" ? "TIMEOUT " : ""}${latency} ${parts.join(" ")}${stuck}${extras}`;
}

/** The kernel names the idle task swapper/N; ftrace prints it as <idle>. */
function taskName(s: ChainStage): string {
  return s.tid === 0 ? `swapper/${s.cpu}` : s.comm;
}

/** A stage as a hit line and the timeline name it: "raise NET_RX", "waking reader-1234". */
export function stageText(s: ChainStage): string {
  switch (s.stage) {
    case "raise":
      return `raise ${s.detail}`;
    case "softirq":
      return `softirq ${taskName(s)}`;
    case "waking":
      return `waking ${s.comm}-${s.tid}`;
    case "run":
    case "preempted":
    case "block":
      return `${s.stage} cpu${s.cpu}`;
    case "origin":
      return `${s.detail || s.probe.split(":")[1]} ${taskName(s)}`;
    default:
      return `${probeName(s.probe)} ${taskName(s)}-${s.tid}`;
  }
}

/** "sched_waking" of "sched:sched_waking"; "work__end" of "usdt:/srv/app:app:work__end". */
function probeName(id: string): string {
  return id.slice(id.lastIndexOf(":") + 1);
}

const BAR_WIDTH = 40;

function stat(label: string, value: number | null): string {
  return `${label} ${value === null ? "-" : formatDuration(value)}`;
}

/** `  softirq_entry -> sched_switch: 12 pairs  p50 4.1us  p99 1.05ms  max 1.2ms` */
function segmentLine(s: SegmentSummary): string {
  const stats = [stat("p50", s.p50_ns), stat("p99", s.p99_ns), stat("max", s.max_ns)];
  return `  ${s.from} -> ${s.to}: ${s.pairs} pairs  ${stats.join("  ")}`;
}

/** Histogram bucket label "(512ns, 1.02us]" built from its bounds. */
function bucketLabel(leNs: number): string {
  if (leNs === 1) return "<= 1ns";
  return `(${formatDuration(leNs / 2)}, ${formatDuration(leNs)}]`;
}

/**
 * The per-tracker summary: counters, min/p50/p99/max, a chain's segments, and a log2
 * histogram drawn with bars.
 */
export function formatSummary(summary: SummaryRecord): string {
  const extra =
    (summary.cancelled ? `, ${summary.cancelled} cancelled` : "") +
    (summary.broken !== undefined && summary.segments ? `, ${summary.broken} broken` : "");
  const lines = [
    `${summary.tracker}: ${summary.pairs} pairs, ${summary.hits} hits, ${summary.timeouts} timeouts, ` +
      `${summary.dropped} dropped, ${summary.pending} pending${extra}`,
    ...(summary.notes ?? []).map((note) => `  note: ${note}`),
  ];
  if (summary.min_ns === null) {
    lines.push("  no completed pairs");
    return lines.join("\n");
  }
  lines.push(
    `  ${[
      stat("min", summary.min_ns),
      stat("p50", summary.p50_ns),
      stat("p99", summary.p99_ns),
      stat("max", summary.max_ns),
    ].join("  ")}`,
  );
  for (const segment of summary.segments ?? []) lines.push(segmentLine(segment));
  const peak = Math.max(...summary.hist.map((b) => b.count));
  const labels = summary.hist.map((b) => bucketLabel(b.le_ns));
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const countWidth = Math.max(...summary.hist.map((b) => String(b.count).length));
  summary.hist.forEach((bucket, i) => {
    const width = Math.max(1, Math.round((bucket.count / peak) * BAR_WIDTH));
    lines.push(
      `  ${labels[i].padStart(labelWidth)} ${String(bucket.count).padStart(countWidth)} ` +
        `|${"█".repeat(width).padEnd(BAR_WIDTH)}|`,
    );
  });
  return lines.join("\n");
}
