// The exact latency sum of a summary (sum_ns, Prometheus' `_sum`) checked against the rest of
// what the module reported: each pair lies inside its histogram bucket and between min and
// max, and every threshold hit read is one of the pairs summed.

import type { HistogramBucket } from "../../src/records/types.ts";

export interface SummedCounters {
  pairs: number;
  min_ns: number | null;
  max_ns: number | null;
  hist: HistogramBucket[];
  sum_ns?: number;
}

/** Problems with `s.sum_ns`; `hitLatencies` are the threshold hits read (each one a pair). */
export function latencySumProblems(s: SummedCounters, hitLatencies: number[]): string[] {
  const sum = s.sum_ns;
  if (typeof sum !== "number") return ["the summary has no sum_ns"];
  const problems: string[] = [];
  const counted = s.hist.reduce((n, b) => n + b.count, 0);
  if (counted !== s.pairs) problems.push(`the histogram holds ${counted} of ${s.pairs} pairs`);
  // Bucket le = 2^k holds integers 2^(k-1) < v <= 2^k; bucket le = 1 holds 0 and 1.
  const low = s.hist.reduce((n, b) => n + b.count * (b.le_ns > 1 ? b.le_ns / 2 + 1 : 0), 0);
  const high = s.hist.reduce((n, b) => n + b.count * b.le_ns, 0);
  if (sum < low || sum > high)
    problems.push(`sum_ns ${sum} outside the histogram's [${low}, ${high}]`);
  if (s.pairs > 0 && (sum < (s.min_ns ?? 0) * s.pairs || sum > (s.max_ns ?? 0) * s.pairs)) {
    problems.push(
      `sum_ns ${sum} outside pairs × [min, max] = ${s.pairs} × [${s.min_ns}, ${s.max_ns}]`,
    );
  }
  const hits = hitLatencies.reduce((n, v) => n + v, 0);
  if (sum < hits) problems.push(`sum_ns ${sum} below the ${hitLatencies.length} hits' ${hits} ns`);
  return problems;
}
