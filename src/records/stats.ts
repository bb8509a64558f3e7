// LatencyStats: the per-tracker counters and log2 latency histogram every backend keeps,
// turned into the SummaryRecord of the output contract. Memory is constant per tracker.

import type { HistogramBucket, SummaryRecord } from "./types.ts";

/** Enough log2 buckets for any u64 nanosecond latency (2^64 ns is ~584 years). */
const BUCKETS = 65;

/**
 * Index of the log2 bucket holding `ns`: bucket i has le_ns = 2^(i-1) for i >= 1
 * (values 2^(i-2) < v <= 2^(i-1)), and bucket 0 holds latencies of 0 ns exactly.
 */
export function bucketIndex(ns: number): number {
  if (ns <= 0) return 0;
  if (ns <= 1) return 1;
  // 32-bit fast path: clz32 is exact; above 2^31 fall back to a float log, corrected.
  if (ns <= 0x80000000) return 33 - Math.clz32(Math.ceil(ns) - 1);
  let index = Math.ceil(Math.log2(ns)) + 1;
  while (2 ** (index - 1) < ns) index++;
  while (index > 1 && 2 ** (index - 2) >= ns) index--;
  return index;
}

export function bucketUpperBound(index: number): number {
  return index === 0 ? 0 : 2 ** (index - 1);
}

export class LatencyStats {
  pairs = 0;
  hits = 0;
  timeouts = 0;
  dropped = 0;
  pending = 0;
  minNs: number | null = null;
  maxNs: number | null = null;
  private readonly counts = new Float64Array(BUCKETS);

  constructor(readonly tracker: string) {}

  /** One completed pair (hit or not): it enters min/max and the histogram. */
  recordPair(latencyNs: number): void {
    this.pairs++;
    if (this.minNs === null || latencyNs < this.minNs) this.minNs = latencyNs;
    if (this.maxNs === null || latencyNs > this.maxNs) this.maxNs = latencyNs;
    this.counts[bucketIndex(latencyNs)]++;
  }

  /** Merges a histogram read from elsewhere (a BPF per-CPU array): bucket upper bound → count. */
  addBucket(leNs: number, count: number): void {
    this.counts[bucketIndex(leNs)] += count;
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
    };
  }

  private clamp(ns: number): number {
    let value = ns;
    if (this.maxNs !== null && value > this.maxNs) value = this.maxNs;
    if (this.minNs !== null && value < this.minNs) value = this.minNs;
    return value;
  }
}
