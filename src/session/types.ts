// What every backend produces: hit and summary records (the NDJSON output contract of
// DESIGN.md) and the Session interface the CLI and the shell drive backends through.

import type { TrackerPlan } from "../compiler/plan.ts";

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
}

/** Live counters of one tracker, polled by the shell a few times a second. */
export interface TrackerStats {
  tracker: string;
  running: boolean;
  summary: SummaryRecord;
}

export interface SessionListener {
  hit(hit: HitRecord): void;
  /** Non-fatal conditions a user must see: a probe the trace never contains, lost events, ... */
  warning(message: string): void;
  /** Progress a user waits on (a module being built); not a problem. */
  notice?(message: string): void;
}

/**
 * A set of running trackers on one backend. The CLI adds every tracker of a file and
 * closes on Ctrl-C or --for; the shell adds, stops and removes them one at a time.
 */
export interface Session {
  /** "live eBPF", "replay trace.txt", "kmod" — shown in the shell's status line. */
  readonly backend: string;
  add(plan: TrackerPlan): Promise<void>;
  stop(tracker: string): Promise<void>;
  remove(tracker: string): Promise<void>;
  stats(): TrackerStats[];
  /** Detaches everything and returns the final summaries, one per tracker ever added. */
  close(): Promise<SummaryRecord[]>;
  /**
   * Optional, for backends that finish on their own (replay: the end of the trace).
   * Resolves when every tracker added so far has finished; rejects on a fatal input
   * error (a corrupt trace), which is then not also reported through warning().
   */
  done?(): Promise<void>;
}
