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

type Labels = Record<string, string>;

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}{${pairs.join(",")}} ${formatValue(value)}\n`;
}

interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  samples(s: SummaryRecord, tracker: Labels): string;
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
    samples: (s, t) => sample("ltsh_pairs_total", t, s.pairs),
  },
  {
    name: "ltsh_hits_total",
    type: "counter",
    help: "Hits: pairs longer than the threshold (threshold) and begins with no end in time (timeout).",
    samples: (s, t) =>
      sample("ltsh_hits_total", { ...t, kind: "threshold" }, s.hits) +
      sample("ltsh_hits_total", { ...t, kind: "timeout" }, s.timeouts),
  },
  {
    name: "ltsh_dropped_total",
    type: "counter",
    help: "Begins refused by a full pending table, plus hits lost in transport.",
    samples: (s, t) => sample("ltsh_dropped_total", t, s.dropped),
  },
  {
    name: "ltsh_pending",
    type: "gauge",
    help: "Begins waiting for their end.",
    samples: (s, t) => sample("ltsh_pending", t, s.pending),
  },
  {
    name: "ltsh_missed_events_total",
    type: "counter",
    help: "Events the kernel dropped before the tracker's programs ran.",
    samples: (s, t) => sample("ltsh_missed_events_total", t, s.missed),
  },
];

/**
 * Cumulative buckets from the summary's non-empty ones; `+Inf` and `_count` are the pairs.
 * A live read can catch a program between counting a pair and filing it in its bucket;
 * `+Inf` is then the buckets' total, so the series stays cumulative (Prometheus needs it).
 */
function histogramSamples(s: SummaryRecord, tracker: Labels): string {
  const counts = new Map(s.hist.map((b) => [b.le_ns, b.count]));
  let cumulative = 0;
  let text = "";
  for (let k = 0; k < BUCKETS; k++) {
    cumulative += counts.get(bucketUpperBound(k)) ?? 0;
    text += sample("ltsh_latency_seconds_bucket", { ...tracker, le: BUCKET_LE[k] }, cumulative);
  }
  const count = Math.max(s.pairs, cumulative);
  text += sample("ltsh_latency_seconds_bucket", { ...tracker, le: "+Inf" }, count);
  text += sample("ltsh_latency_seconds_sum", tracker, s.sum_ns / 1e9);
  text += sample("ltsh_latency_seconds_count", tracker, count);
  return text;
}

export interface BuildInfo {
  version: string;
}

/** The whole exposition: one family after another, each with its HELP and TYPE lines. */
export function renderMetrics(summaries: readonly SummaryRecord[], build: BuildInfo): string {
  let text = "";
  for (const family of FAMILIES) {
    text += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`;
    for (const s of summaries) text += family.samples(s, { tracker: s.tracker });
  }
  text += "# HELP ltsh_build_info The running ltsh's version (always 1).\n";
  text += "# TYPE ltsh_build_info gauge\n";
  text += sample("ltsh_build_info", { version: build.version }, 1);
  return text;
}
