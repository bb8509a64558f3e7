// LatencyStats: the per-tracker counters and log2 latency histogram every backend keeps,
// turned into the SummaryRecord of the output contract. Memory is constant per tracker.

import type { HistogramBucket, SummaryRecord } from "./types.ts";

/** Enough log2 buckets for any u64 nanosecond latency (2^64 ns is ~584 years). */
export const BUCKETS = 65;

/**
 * The one histogram convention of every backend (BPF, kmod, replay): bucket k holds the
 * latencies v with 2^(k-1) < v <= 2^k, its upper bound `le_ns` = 2^k; bucket 0 also holds
 * v = 0 (a pair whose two events share a timestamp).
 */
export function bucketIndex(ns: number): number {
  if (ns <= 1) return 0;
  // 32-bit fast path: clz32 is exact; above 2^31 fall back to a float log, corrected.
  if (ns <= 0x80000000) return 32 - Math.clz32(Math.ceil(ns) - 1);
  let index = Math.ceil(Math.log2(ns));
  while (2 ** index < ns) index++;
  while (index > 0 && 2 ** (index - 1) >= ns) index--;
  return index;
}

export function bucketUpperBound(index: number): number {
  return 2 ** index;
}

export class LatencyStats {
  pairs = 0;
  hits = 0;
  timeouts = 0;
  dropped = 0;
  pending = 0;
  /** Events lost before a tracker's programs ran (BPF recursion misses); 0 elsewhere. */
  missed = 0;
  minNs: number | null = null;
  maxNs: number | null = null;
  /** Exact sum of every pair's latency (Prometheus' `_sum`). */
  sumNs = 0;
  private readonly counts = new Float64Array(BUCKETS);

  constructor(readonly tracker: string) {}

  /** One completed pair (hit or not): it enters min/max and the histogram. */
  recordPair(latencyNs: number): void {
    this.pairs++;
    this.sumNs += latencyNs;
    if (this.minNs === null || latencyNs < this.minNs) this.minNs = latencyNs;
    if (this.maxNs === null || latencyNs > this.maxNs) this.maxNs = latencyNs;
    this.counts[bucketIndex(latencyNs)]++;
  }

  /** Merges a histogram read from elsewhere (a per-CPU array), indexed as bucketIndex(). */
  addBucket(index: number, count: number): void {
    this.counts[index] += count;
  }

  /**
   * The latency at quantile q (0..1): the upper bound of the log2 bucket that holds the
   * rank, clamped to [min, max]. Deterministic and the same for every backend, since live
   * backends only have the histogram.
   */
  percentile(q: number): number | null {
    const total = this.counts.reduce((a, b) => a + b, 0);
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return this.clamp(bucketUpperBound(i));
    }
    return this.maxNs;
  }

  histogram(): HistogramBucket[] {
    const buckets: HistogramBucket[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      if (this.counts[i] > 0) buckets.push({ le_ns: bucketUpperBound(i), count: this.counts[i] });
    }
    return buckets;
  }

  summary(): SummaryRecord {
    return {
      type: "summary",
      tracker: this.tracker,
      pairs: this.pairs,
      hits: this.hits,
      timeouts: this.timeouts,
      dropped: this.dropped,
      pending: this.pending,
      min_ns: this.minNs,
      p50_ns: this.percentile(0.5),
      p99_ns: this.percentile(0.99),
      max_ns: this.maxNs,
      hist: this.histogram(),
      sum_ns: this.sumNs,
      missed: this.missed,
    };
  }

  private clamp(ns: number): number {
    let value = ns;
    if (this.maxNs !== null && value > this.maxNs) value = this.maxNs;
    if (this.minNs !== null && value < this.minNs) value = this.minNs;
    return value;
  }
}
