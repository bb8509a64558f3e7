// A chain tracker's records in the output contract: a hit's stages with exact timestamps
// and each stage's duration since the previous one (so they add up to the pair's
// latency), and the summary's chain fields (broken, drops of copies, segments).

import type { ChainStage, EventContext, HitRecord, SummaryRecord } from "../records/types.ts";
import type { ChainTracker } from "./chain.ts";
import type { Stage, Token } from "./chain-tokens.ts";
import { timestampNs } from "./tracker.ts";

/** A pair's latency into the tracker's statistics and each segment's. */
export function recordChainPair(chain: ChainTracker, token: Token, latency: number): void {
  chain.tracker.stats.recordPair(latency);
  chain.segments.forEach((segment, i) => {
    const to = token.stepTs[i + 1];
    if (to !== undefined) segment.stats.recordPair(to - token.stepTs[i]);
  });
}

/** The summary of a chain tracker: the plain one plus broken chains and segments. */
export function chainSummary(chain: ChainTracker, summary: SummaryRecord): SummaryRecord {
  return {
    ...summary,
    dropped: summary.dropped + chain.tokens.dropped,
    cancelled: chain.tracker.cancelled,
    broken: chain.tokens.broken,
    segments: chain.segments.map(({ from, to, stats }) => {
      const { pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns } = stats.summary();
      return { from, to, pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns };
    }),
  };
}

export function chainHit(
  tracker: string,
  kind: "pair" | "timeout",
  latency: number,
  stages: Stage[],
): HitRecord {
  const chain: ChainStage[] = stages.map((s, i) => ({
    stage: s.stage,
    probe: s.probe,
    ts_ns: timestampNs(s.sec, s.nsec),
    cpu: s.cpu,
    tid: s.tid,
    pid: s.pid,
    comm: s.comm,
    dur_ns: i === 0 ? 0 : s.ts - stages[i - 1].ts,
    detail: s.detail,
  }));
  const last = chain[chain.length - 1];
  return {
    type: "hit",
    tracker,
    kind: kind === "pair" ? "threshold" : "timeout",
    latency_ns: latency,
    key: [],
    begin: contextOf(chain[0]),
    end: kind === "pair" ? contextOf(last) : null,
    snapshot: null,
    stack: null,
    chain,
  };
}

function contextOf(s: ChainStage): EventContext {
  return { probe: s.probe, ts_ns: s.ts_ns, cpu: s.cpu, tid: s.tid, pid: s.pid, comm: s.comm };
}
