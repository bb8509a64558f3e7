// The records every backend produces: hits and summaries, the NDJSON output contract of
// DESIGN.md. The leaf of the house: everything above depends on it, it depends on nothing.

/** Context of the event that began or ended a pair. */
export interface EventContext {
  /** "sched:sched_wakeup" */
  probe: string;
  /** CLOCK_MONOTONIC nanoseconds (the tracefs "mono" clock / bpf_ktime_get_ns). */
  ts_ns: bigint;
  cpu: number;
  tid: number;
  /** Thread-group id; -1 when the source does not say (ftrace text without tgids). */
  pid: number;
  comm: string;
}

/** Integers are bigint (u64 keys such as kernel addresses); char arrays are strings. */
export type KeyValue = bigint | string;

export interface HitRecord {
  type: "hit";
  tracker: string;
  kind: "threshold" | "timeout";
  /** end.ts - begin.ts; for a timeout, the time waited until the deadline passed. */
  latency_ns: number;
  key: KeyValue[];
  begin: EventContext;
  /** null for timeouts. */
  end: EventContext | null;
  /** Path of the snapshot file written for this hit, when the tracker has `then snapshot`. */
  snapshot: string | null;
  /** Symbolised kernel stack of the end event (or the begin for timeouts) with `then stack`. */
  stack: string[] | null;
  /** Chain trackers only: the path from the origin, whose dur_ns add up to latency_ns. */
  chain?: ChainStage[];
  /** Trackers keyed by a task id: that task's name; null when nothing named it. */
  key_comm?: string | null;
  /** `then print(FIELD, ...)`: each field's value, null when neither event had it. */
  fields?: Record<string, KeyValue | null>;
  /** The names of printed numbers that have one: prev_state "S", a syscall id "read". */
  fields_text?: Record<string, string>;
}

/** One stage of a chain hit (grammar/README.md "Chains" lists the kinds). */
export interface ChainStage {
  /** origin, raise, softirq, waking, run, preempted, waypoint, target, block */
  stage: string;
  probe: string;
  ts_ns: bigint;
  cpu: number;
  /** The task the stage is about: the woken task for `waking`, else the one on the CPU. */
  tid: number;
  pid: number;
  comm: string;
  /** Time since the previous stage (0 for the origin). */
  dur_ns: number;
  /** "irq24", "NET_RX": what identifies the stage beyond its probe; "" when nothing. */
  detail: string;
}

/** A chain's link between two steps the user wrote (origin → waypoint → target [→ block]). */
export interface SegmentSummary {
  from: string;
  to: string;
  pairs: number;
  min_ns: number | null;
  p50_ns: number | null;
  p99_ns: number | null;
  max_ns: number | null;
  hist: HistogramBucket[];
  /** Exact sum of the segment's latencies (Prometheus' `_sum`). */
  sum_ns: number;
}

export interface HistogramBucket {
  /** Upper bound of the log2 bucket, inclusive: values v with le_ns/2 < v <= le_ns. */
  le_ns: number;
  count: number;
}

export interface SummaryRecord {
  type: "summary";
  tracker: string;
  /** Completed begin→end pairs (every pair, hit or not). */
  pairs: number;
  /** Threshold hits (kind "threshold"). */
  hits: number;
  timeouts: number;
  /** Begins not recorded because the pending table was full, plus hits lost in transport. */
  dropped: number;
  /** Begins still pending when the session ended. */
  pending: number;
  min_ns: number | null;
  p50_ns: number | null;
  p99_ns: number | null;
  max_ns: number | null;
  hist: HistogramBucket[];
  /** Exact sum of the latencies of all `pairs` (for Prometheus' histogram `_sum`). */
  sum_ns: number;
  /** Events the kernel dropped before the tracker's programs ran (BPF recursion misses). */
  missed: number;
  /** Begins forgotten by a `cancel` clause (backends that run `cancel`). */
  cancelled?: number;
  /** Chains whose every branch was dropped before the target (backends that run chains). */
  broken?: number;
  /** Chain trackers: one histogram per segment between the steps written. */
  segments?: SegmentSummary[];
  /** What the tracker did not see, in words (a probed binary replaced while it ran). */
  notes?: string[];
}
