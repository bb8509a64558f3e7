// A chain's stages as the hit record of the output contract: exact timestamps, each
// stage's duration since the previous one (so they add up to the pair's latency).

import type { ChainStage, EventContext, HitRecord } from "../records/types.ts";
import type { Stage } from "./chain-tokens.ts";
import { timestampNs } from "./tracker.ts";

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
