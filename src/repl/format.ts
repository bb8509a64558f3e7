// Text of the shell's panels as pure functions of state and width: the trackers table, the
// histogram bars and the status line. Every line fits `width` columns (truncated, never
// wrapped), so an 80x24 terminal stays tidy and frame tests compare plain strings.

import { formatDuration } from "../records/output.ts";
import type { HistogramBucket, HitRecord, SummaryRecord } from "../records/types.ts";
import type { StatusInfo, TrackerRow } from "./state.ts";

/** Cuts a line to `width` columns, marking the cut with an ellipsis. */
export function fit(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars
    .slice(0, width - 1)
    .join("")
    .trimEnd()}…`;
}

/** 987, 12.3k, 4.56M: counters that stay within six columns. */
export function compactCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${trim(n / 1e3)}k`;
  if (n < 1_000_000_000) return `${trim(n / 1e6)}M`;
  return `${trim(n / 1e9)}G`;
}

function trim(value: number): string {
  return value.toFixed(value >= 100 ? 0 : 1).replace(/\.0$/, "");
}

function duration(ns: number | null): string {
  return ns === null ? "-" : formatDuration(ns);
}

interface Column {
  title: string;
  width: number;
  value(row: TrackerRow): string;
}

const NUMBER_COLUMNS: Column[] = [
  {
    title: ">THR",
    width: 6,
    value: (r) => (r.thresholdNs === null ? "-" : formatDuration(r.thresholdNs)),
  },
  { title: "PAIRS", width: 6, value: (r) => compactCount(r.summary.pairs) },
  { title: "HITS", width: 5, value: (r) => compactCount(r.summary.hits) },
  { title: "T/O", width: 4, value: (r) => compactCount(r.summary.timeouts) },
  { title: "DROP", width: 4, value: (r) => compactCount(r.summary.dropped) },
  { title: "P50", width: 6, value: (r) => duration(r.summary.p50_ns) },
  { title: "P99", width: 6, value: (r) => duration(r.summary.p99_ns) },
  { title: "MAX", width: 6, value: (r) => duration(r.summary.max_ns) },
];

/**
 * "sched_wakeup→switch": the end probe loses the prefix it shares with the begin probe
 * (up to an underscore), which is what a narrow table can afford.
 */
export function probesLabel(begins: string[], ends: string[]): string {
  const begin = begins.join("|");
  let end = ends.join("|");
  if (begins.length === 1 && ends.length === 1) {
    let common = 0;
    while (common < begin.length && begin[common] === end[common]) common++;
    const cut = begin.lastIndexOf("_", common - 1) + 1;
    if (cut > 0 && cut < end.length) end = end.slice(cut);
  }
  return `${begin}→${end}`;
}

/**
 * Header + one line per tracker (at most `maxRows`, then "… N more"). The probes column
 * gets what it needs first; the name gets the rest; both are cut with … when too narrow.
 */
export function trackersTable(
  rows: TrackerRow[],
  selected: string | null,
  width: number,
  maxRows: number,
): string[] {
  if (rows.length === 0) return [fit("no trackers yet: type a `track ...` line, or :help", width)];
  const numbersWidth = NUMBER_COLUMNS.reduce((sum, c) => sum + c.width + 1, 0);
  const flexible = Math.max(0, width - numbersWidth - 3);
  const longestName = Math.max(4, ...rows.map((r) => r.name.length));
  const longestProbes = Math.max(6, ...rows.map((r) => label(r).length));
  const nameWidth = Math.min(longestName, Math.max(6, flexible - longestProbes));
  const probesWidth = Math.min(longestProbes, flexible - nameWidth);
  const line = (marker: string, name: string, probes: string, numbers: string[]) => {
    const probeCell = probesWidth >= 6 ? ` ${fit(probes, probesWidth).padEnd(probesWidth)}` : "";
    const cells = numbers.map((value, i) => value.padStart(NUMBER_COLUMNS[i].width)).join(" ");
    return fit(`${marker}${fit(name, nameWidth).padEnd(nameWidth)}${probeCell} ${cells}`, width);
  };
  const shown = visibleRows(rows, selected, maxRows);
  const lines = [
    line(
      "  ",
      "NAME",
      "PROBES",
      NUMBER_COLUMNS.map((c) => c.title),
    ),
    ...shown.map((row) =>
      line(
        row.name === selected ? "▸ " : "  ",
        row.name,
        label(row),
        NUMBER_COLUMNS.map((c) => c.value(row)),
      ),
    ),
  ];
  if (shown.length < rows.length)
    lines.push(fit(`  … ${rows.length - shown.length} more (:list)`, width));
  return lines.map((l) => l.trimEnd());
}

/** The first rows that fit, with the selected one always among them (its histogram shows). */
function visibleRows(rows: TrackerRow[], selected: string | null, maxRows: number): TrackerRow[] {
  if (rows.length <= maxRows) return rows;
  const shown = rows.slice(0, Math.max(1, maxRows - 1));
  const chosen = rows.find((r) => r.name === selected);
  if (chosen && !shown.includes(chosen)) shown[shown.length - 1] = chosen;
  return shown;
}

function label(row: TrackerRow): string {
  // A finished tracker (the replayed trace ended) looks like a running one: the status
  // line says the trace ended. Only what the user stopped is marked.
  return row.state === "stopped" ? `(stopped) ${row.probes}` : row.probes;
}

/** Histogram bucket label "(512ns, 1.02us]". */
function bucketLabel(leNs: number): string {
  if (leNs === 0) return "0ns";
  if (leNs === 1) return "<= 1ns";
  return `(${formatDuration(leNs / 2)}, ${formatDuration(leNs)}]`;
}

/**
 * The tracker's log2 histogram: a title line, then one bar per bucket. When there are more
 * buckets than `maxRows`, the contiguous window holding the most pairs is drawn and the
 * title says which part is shown.
 */
export function histogramLines(summary: SummaryRecord, width: number, maxRows: number): string[] {
  const stats = `p50 ${duration(summary.p50_ns)}  p99 ${duration(summary.p99_ns)}  max ${duration(summary.max_ns)}`;
  if (summary.hist.length === 0 || maxRows < 1) {
    return [fit(`${summary.tracker}: no completed pairs yet`, width)];
  }
  const window = densestWindow(summary.hist, maxRows);
  const hidden = summary.hist.length - window.length;
  const title = `${summary.tracker}: ${summary.pairs} pairs  ${stats}${hidden > 0 ? `  (+${hidden} buckets)` : ""}`;
  const labels = window.map((b) => bucketLabel(b.le_ns));
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const countWidth = Math.max(...window.map((b) => String(b.count).length));
  const barWidth = Math.max(4, Math.min(40, width - labelWidth - countWidth - 6));
  const peak = Math.max(...window.map((b) => b.count));
  const bars = window.map((bucket, i) => {
    const filled = Math.max(1, Math.round((bucket.count / peak) * barWidth));
    const bar = "█".repeat(filled).padEnd(barWidth);
    return fit(
      `  ${labels[i].padStart(labelWidth)} ${String(bucket.count).padStart(countWidth)} |${bar}|`,
      width,
    );
  });
  return [fit(title, width), ...bars];
}

function densestWindow(hist: HistogramBucket[], size: number): HistogramBucket[] {
  if (hist.length <= size) return hist;
  let best = 0;
  let bestSum = -1;
  for (let start = 0; start + size <= hist.length; start++) {
    const sum = hist.slice(start, start + size).reduce((total, b) => total + b.count, 0);
    if (sum > bestSum) {
      best = start;
      bestSum = sum;
    }
  }
  return hist.slice(best, best + size);
}

export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const hh = Math.floor(seconds / 3600);
  const mm = String(Math.floor(seconds / 60) % 60).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "replay trace.txt │ 00:12 │ 1.2k pairs/s │ 34 hits/s │ 0 dropped │ metrics :9464" */
export function statusLine(status: StatusInfo, width: number): string {
  const parts = [
    status.backend,
    formatElapsed(status.elapsedMs),
    `${compactCount(Math.round(status.pairsPerSecond))} pairs/s`,
    `${compactCount(Math.round(status.hitsPerSecond))} hits/s`,
    `${compactCount(status.dropped)} dropped`,
  ];
  if (status.feedSkipped > 0) parts.push(`${compactCount(status.feedSkipped)} hits not echoed`);
  if (status.metrics) parts.push(`metrics ${status.metrics}`);
  return fit(parts.join(" │ "), width);
}

/**
 * A chain hit as a waterfall: a title, then one line per link with its stage, what it was
 * about (an IRQ, a vector, a task) and its duration, and a bar that starts where the
 * previous link ended, scaled to the whole latency. At most `maxRows` lines.
 */
export function waterfallLines(hit: HitRecord, width: number, maxRows: number): string[] {
  const stages = hit.chain ?? [];
  if (stages.length === 0 || maxRows < 2) return [];
  const title = fit(
    `${hit.tracker}: worst recent ${hit.kind === "timeout" ? "timeout" : "hit"} ` +
      `${formatDuration(hit.latency_ns)}, ${stages.length - 1} links`,
    width,
  );
  const links = stages.slice(1).map((stage) => ({
    label: `${stage.stage} ${stage.detail || `${stage.comm}-${stage.tid}`}`,
    dur: formatDuration(stage.dur_ns),
    ns: stage.dur_ns,
  }));
  const shown = links.length > maxRows - 1 ? mergeTail(links, maxRows - 1) : links;
  const labelWidth = Math.min(28, Math.max(...shown.map((l) => l.label.length)));
  const durWidth = Math.max(...shown.map((l) => l.dur.length));
  const barWidth = Math.max(8, width - labelWidth - durWidth - 6);
  const total = Math.max(1, hit.latency_ns);
  let before = 0;
  const lines = shown.map((link) => {
    const start = Math.min(barWidth - 1, Math.floor((before / total) * barWidth));
    const length = Math.max(1, Math.round((link.ns / total) * barWidth));
    before += link.ns;
    const bar = `${" ".repeat(start)}${"█".repeat(Math.min(length, barWidth - start))}`;
    const label = fit(link.label, labelWidth).padEnd(labelWidth);
    return fit(`  ${label} ${link.dur.padStart(durWidth)} |${bar.padEnd(barWidth)}|`, width);
  });
  return [title, ...lines];
}

/** Keeps the first links and folds the rest into one "… N more" line with their sum. */
function mergeTail<T extends { label: string; dur: string; ns: number }>(links: T[], rows: number) {
  const kept = links.slice(0, rows - 1);
  const rest = links.slice(rows - 1);
  const ns = rest.reduce((sum, l) => sum + l.ns, 0);
  return [...kept, { label: `… ${rest.length} more`, dur: formatDuration(ns), ns }];
}
