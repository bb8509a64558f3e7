// The results phase's tables built from the hits and summaries of a replay: LAMI data objects
// for every cell (time-range, duration, process, cpu, ...), one histogram table per tracker.

import { formatKey } from "../records/output.ts";
import type { EventContext, HitRecord, SummaryRecord } from "../records/types.ts";

type TimeRange = { class: "time-range"; begin: Timestamp; end: Timestamp };
type Timestamp = { class: "timestamp"; value: bigint };

export interface ResultTable {
  "time-range": TimeRange;
  class: string | { inherit: string; title: string };
  data: unknown[][];
}

const timestamp = (ns: bigint): Timestamp => ({ class: "timestamp", value: ns });
export const timeRange = (begin: bigint, end: bigint): TimeRange => ({
  class: "time-range",
  begin: timestamp(begin),
  end: timestamp(end),
});
const duration = (ns: number | null) =>
  ns === null ? { class: "unknown" } : { class: "duration", value: ns };
const number = (value: number) => ({ class: "number", value });
const string = (value: string) => ({ class: "string", value });

/** The task of an event; what the trace does not say (no comm, no ids) is left out. */
function process(context: EventContext | null) {
  if (context === null) return null;
  const known = {
    ...(context.comm !== "" ? { name: context.comm } : {}),
    ...(context.pid >= 0 ? { pid: context.pid } : {}),
    ...(context.tid >= 0 ? { tid: context.tid } : {}),
  };
  return Object.keys(known).length === 0 ? { class: "unknown" } : { class: "process", ...known };
}

const cpu = (context: EventContext | null) =>
  context === null ? null : { class: "cpu", id: context.cpu };

/** One row per hit; a timeout's range ends at its deadline and its end cells are empty. */
export function hitsTable(range: TimeRange, hits: HitRecord[], limit: number): ResultTable {
  const data = hits.slice(0, limit).map((hit) => {
    const end = hit.end?.ts_ns ?? hit.begin.ts_ns + BigInt(hit.latency_ns);
    return [
      timeRange(hit.begin.ts_ns, end),
      duration(hit.latency_ns),
      string(hit.tracker),
      string(formatKey(hit.key)),
      string(hit.kind),
      process(hit.begin),
      cpu(hit.begin),
      process(hit.end),
      cpu(hit.end),
    ];
  });
  return { "time-range": range, class: "hits", data };
}

export function statsTable(range: TimeRange, summaries: SummaryRecord[]): ResultTable {
  const data = summaries.map((s) => [
    string(s.tracker),
    number(s.pairs),
    number(s.hits),
    number(s.timeouts),
    number(s.dropped),
    duration(s.min_ns),
    duration(s.p50_ns),
    duration(s.p99_ns),
    duration(s.max_ns),
  ]);
  return { "time-range": range, class: "stats", data };
}

/**
 * The log2 buckets from the lowest to the highest non-empty one, empty ones included (a
 * chart shows the gaps). A bucket (le/2, le] of integer nanoseconds is [le/2 + 1, le].
 */
export function histogramTable(range: TimeRange, summary: SummaryRecord): ResultTable {
  const counts = new Map(summary.hist.map((b) => [b.le_ns, b.count]));
  const data: unknown[][] = [];
  const bounds = summary.hist.map((b) => b.le_ns);
  if (bounds.length > 0) {
    for (let le = Math.min(...bounds); le <= Math.max(...bounds); le *= 2) {
      const low = le === 1 ? 0 : Math.floor(le / 2) + 1;
      data.push([{ class: "duration", low, high: le }, number(counts.get(le) ?? 0)]);
    }
  }
  const title = `Latency distribution: ${summary.tracker}`;
  return { "time-range": range, class: { inherit: "histogram", title }, data };
}
