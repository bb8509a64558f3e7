// The Prometheus text exposition format (version 0.0.4) of a session's summaries: what
// `GET /metrics` serves. Pure: summaries in, text out; the server only reads stats().

import { BUCKETS, bucketUpperBound } from "../records/stats.ts";
import type { SummaryRecord } from "../records/types.ts";

/** The Content-Type of this format, as Prometheus negotiates it. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Every bucket of the records layer's log2 convention, empty or not: a histogram's set of
 * `le` values must not change between scrapes, or histogram_quantile() over a range mixes
 * bucket layouts. Bucket k holds 2^(k-1) < v <= 2^k ns, so `le` is 2^k ns in seconds.
 */
const BUCKET_LE = Array.from({ length: BUCKETS }, (_, k) => formatValue(bucketUpperBound(k) / 1e9));

/** Label values as the format escapes them: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value: integers exactly, fractions in JavaScript's shortest round-trip form. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/**
 * One tracker's label set, escaped once: a scrape of 50 trackers writes ~3,600 lines, so each
 * line is a template around pre-escaped text, not a map of labels formatted anew.
 */
interface TrackerLabels {
  /** `tracker="wakeup"` */
  tracker: string;
}

interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  samples(s: SummaryRecord, labels: TrackerLabels): string;
}

function counterLine(name: string, labels: TrackerLabels, value: number): string {
  return `${name}{${labels.tracker}} ${formatValue(value)}\n`;
}

/** Labels are the tracker and the hit kind only: pids and keys have unbounded cardinality. */
const FAMILIES: Family[] = [
  {
    name: "ltsh_latency_seconds",
    type: "histogram",
    help: "Latency of every completed begin-to-end pair, in log2 buckets.",
    samples: histogramSamples,
  },
  {
    name: "ltsh_pairs_total",
    type: "counter",
    help: "Completed begin-to-end pairs, hit or not.",
    samples: (s, l) => counterLine("ltsh_pairs_total", l, s.pairs),
  },
  {
    name: "ltsh_hits_total",
    type: "counter",
    help: "Hits: pairs longer than the threshold (threshold) and begins with no end in time (timeout).",
    samples: (s, l) =>
      `ltsh_hits_total{${l.tracker},kind="threshold"} ${formatValue(s.hits)}\n` +
      `ltsh_hits_total{${l.tracker},kind="timeout"} ${formatValue(s.timeouts)}\n`,
  },
  {
    name: "ltsh_dropped_total",
    type: "counter",
    help: "Begins refused by a full pending table, plus hits lost in transport.",
    samples: (s, l) => counterLine("ltsh_dropped_total", l, s.dropped),
  },
  {
    name: "ltsh_pending",
    type: "gauge",
    help: "Begins waiting for their end.",
    samples: (s, l) => counterLine("ltsh_pending", l, s.pending),
  },
  {
    name: "ltsh_missed_events_total",
    type: "counter",
    help: "Events the kernel dropped before the tracker's programs ran.",
    samples: (s, l) => counterLine("ltsh_missed_events_total", l, s.missed),
  },
];

/**
 * Cumulative buckets from the summary's non-empty ones; `+Inf` and `_count` are the pairs.
 * A live read can catch a program between counting a pair and filing it in its bucket;
 * `+Inf` is then the buckets' total, so the series stays cumulative (Prometheus needs it).
 */
function histogramSamples(s: SummaryRecord, labels: TrackerLabels): string {
  const counts = new Float64Array(BUCKETS);
  for (const b of s.hist) counts[bucketIndexOfBound(b.le_ns)] += b.count;
  const prefix = `ltsh_latency_seconds_bucket{${labels.tracker},le="`;
  const lines: string[] = [];
  let cumulative = 0;
  for (let k = 0; k < BUCKETS; k++) {
    cumulative += counts[k];
    lines.push(`${prefix}${BUCKET_LE[k]}"} ${formatValue(cumulative)}\n`);
  }
  const count = Math.max(s.pairs, cumulative);
  lines.push(`${prefix}+Inf"} ${formatValue(count)}\n`);
  lines.push(counterLine("ltsh_latency_seconds_sum", labels, s.sum_ns / 1e9));
  lines.push(counterLine("ltsh_latency_seconds_count", labels, count));
  return lines.join("");
}

/** k for a bucket's upper bound 2^k (exact: the bounds are powers of two). */
function bucketIndexOfBound(leNs: number): number {
  return Math.round(Math.log2(leNs));
}

export interface BuildInfo {
  version: string;
}

/** The whole exposition: one family after another, each with its HELP and TYPE lines. */
export function renderMetrics(summaries: readonly SummaryRecord[], build: BuildInfo): string {
  const labels = summaries.map((s) => ({ tracker: `tracker="${escapeLabel(s.tracker)}"` }));
  const parts: string[] = [];
  for (const family of FAMILIES) {
    parts.push(`# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`);
    for (let i = 0; i < summaries.length; i++) parts.push(family.samples(summaries[i], labels[i]));
  }
  parts.push("# HELP ltsh_build_info The running ltsh's version (always 1).\n");
  parts.push("# TYPE ltsh_build_info gauge\n");
  parts.push(`ltsh_build_info{version="${escapeLabel(build.version)}"} 1\n`);
  return parts.join("");
}
