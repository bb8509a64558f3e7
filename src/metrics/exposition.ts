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
  /**
   * Whether a summary has this family at all (a field only some backends or trackers
   * report): a family none has is left out, HELP and TYPE included. Every one by default.
   */
  has?(s: SummaryRecord): boolean;
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
  {
    name: "ltsh_segment_latency_seconds",
    type: "histogram",
    help: "Chain trackers: latency of each segment between two steps written, in log2 buckets.",
    samples: segmentSamples,
    has: (s) => s.segments !== undefined,
  },
  {
    name: "ltsh_cancelled_total",
    type: "counter",
    help: "Begins forgotten by the tracker's cancel clause.",
    samples: (s, l) => counterLine("ltsh_cancelled_total", l, s.cancelled ?? 0),
    has: (s) => s.cancelled !== undefined,
  },
  {
    name: "ltsh_broken_total",
    type: "counter",
    help: "Chain trackers: chains whose every branch was dropped before the target.",
    samples: (s, l) => counterLine("ltsh_broken_total", l, s.broken ?? 0),
    has: (s) => s.broken !== undefined,
  },
];

/**
 * Cumulative buckets from the summary's non-empty ones; `+Inf` and `_count` are the pairs.
 * A live read can catch a program between counting a pair and filing it in its bucket;
 * `+Inf` is then the buckets' total, so the series stays cumulative (Prometheus needs it).
 */
function histogramSamples(s: SummaryRecord, labels: TrackerLabels): string {
  return histogramLines("ltsh_latency_seconds", labels.tracker, s.hist, s.pairs, s.sum_ns);
}

/**
 * One histogram's samples: every bucket, `+Inf`, `_sum` (when the backend keeps an exact sum:
 * `sumNs` null leaves it out, for an estimate would be a wrong number) and `_count`.
 */
function histogramLines(
  name: string,
  labelText: string,
  hist: SummaryRecord["hist"],
  pairs: number,
  sumNs: number | null,
): string {
  const counts = new Float64Array(BUCKETS);
  for (const b of hist) counts[bucketIndexOfBound(b.le_ns)] += b.count;
  const prefix = `${name}_bucket{${labelText},le="`;
  const lines: string[] = [];
  let cumulative = 0;
  for (let k = 0; k < BUCKETS; k++) {
    cumulative += counts[k];
    lines.push(`${prefix}${BUCKET_LE[k]}"} ${formatValue(cumulative)}\n`);
  }
  const count = Math.max(pairs, cumulative);
  lines.push(`${prefix}+Inf"} ${formatValue(count)}\n`);
  if (sumNs !== null) lines.push(`${name}_sum{${labelText}} ${formatValue(sumNs / 1e9)}\n`);
  lines.push(`${name}_count{${labelText}} ${formatValue(count)}\n`);
  return lines.join("");
}

/**
 * A chain tracker's segments, one histogram each, labelled `from->to` as the steps are
 * written. A chain may pass the same two probes twice: the repeat gets `#2`, so every series
 * stays unique.
 */
function segmentSamples(s: SummaryRecord, labels: TrackerLabels): string {
  const seen = new Map<string, number>();
  return (s.segments ?? [])
    .map((segment) => {
      const base = `${segment.from}->${segment.to}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      const label = `${labels.tracker},segment="${escapeLabel(n > 1 ? `${base}#${n}` : base)}"`;
      return histogramLines(
        "ltsh_segment_latency_seconds",
        label,
        segment.hist,
        segment.pairs,
        segment.sum_ns,
      );
    })
    .join("");
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
    const has = family.has ?? (() => true);
    if (family.has && !summaries.some(family.has)) continue;
    parts.push(`# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`);
    for (let i = 0; i < summaries.length; i++) {
      if (has(summaries[i])) parts.push(family.samples(summaries[i], labels[i]));
    }
  }
  parts.push("# HELP ltsh_build_info The running ltsh's version (always 1).\n");
  parts.push("# TYPE ltsh_build_info gauge\n");
  parts.push(`ltsh_build_info{version="${escapeLabel(build.version)}"} 1\n`);
  return parts.join("");
}
