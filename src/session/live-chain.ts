// A chain tracker on the live eBPF backend, as user space sees it: hit records (the token's
// stages, each with the time since the previous one) and the summary's chain fields (broken,
// cancelled, one histogram per segment). Layouts: src/compiler/bpf/chain-layout.ts.

import { ChainHit, STAGE_KINDS, Stage, Token } from "../compiler/bpf/chain-layout.ts";
import { HitKind } from "../compiler/bpf/layout.ts";
import type { TrackerLayout } from "../compiler/bpf/object.ts";
import { SOFTIRQ_NAMES } from "../compiler/contexts.ts";
import { LatencyStats } from "../records/stats.ts";
import type { ChainStage, EventContext, HitRecord, SegmentSummary } from "../records/types.ts";
import type { ChainTable, HeldToken } from "./live-chain-table.ts";
import { cString, type KernelCounters } from "./live-decode.ts";

const PROBE_OF_KIND: Record<string, string> = {
  raise: "irq:softirq_raise",
  softirq: "irq:softirq_entry",
  waking: "sched:sched_waking",
  run: "sched:sched_switch",
  preempted: "sched:sched_switch",
  block: "sched:sched_switch",
};

/** What decoding a chain needs of a tracker: its plan (the kmod backend has no layout). */
type ChainOf = Pick<TrackerLayout, "plan">;

/**
 * The stages of a token at `at` in `bytes`, durations since the previous stage. The kmod
 * backend's tokens have the same layout (kmod-runtime/lt_chain.h).
 */
export function decodeStages(bytes: Uint8Array, at: number, layout: ChainOf): ChainStage[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const steps = layout.plan.chain!.steps;
  const count = v.getUint32(at + Token.stages, true);
  const out: ChainStage[] = [];
  for (let i = 0; i < count; i++) {
    const base = at + Token.stage0 + i * Stage.size;
    const info = v.getUint32(base + Stage.info, true);
    const stage = STAGE_KINDS[info >>> 24] ?? "origin";
    const step = (info >>> 16) & 0xff;
    const detail = info & 0xffff;
    const pidTgid = v.getBigUint64(base + Stage.pidTgid, true);
    const ts = v.getBigUint64(base + Stage.ts, true);
    const probe = PROBE_OF_KIND[stage] ?? steps[step]?.side.probe.id ?? steps[0].side.probe.id;
    const ofTask = stage === "waking" || stage === "run";
    out.push({
      stage,
      probe,
      ts_ns: ts,
      cpu: v.getUint32(base + Stage.cpu, true),
      tid: Number(pidTgid & 0xffffffffn),
      pid: ofTask ? -1 : Number(pidTgid >> 32n),
      comm: cString(bytes.subarray(base + Stage.comm, base + Stage.comm + 16)),
      dur_ns: i === 0 ? 0 : Number(ts - out[i - 1].ts_ns),
      detail: detailOf(stage, probe, detail),
    });
  }
  return out;
}

function detailOf(stage: string, probe: string, detail: number): string {
  if (stage === "raise" || stage === "softirq") return vecName(detail);
  if (stage !== "origin") return "";
  if (probe === "irq:irq_handler_entry") return `irq${detail}`;
  if (probe.startsWith("irq:softirq_")) return vecName(detail);
  return "";
}

function vecName(vec: number): string {
  return SOFTIRQ_NAMES[vec] ?? `vec${vec}`;
}

export function decodeChainHit(bytes: Uint8Array, layout: TrackerLayout): HitRecord {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chain = decodeStages(bytes, ChainHit.token, layout);
  const latency = Number(v.getBigUint64(ChainHit.latency, true));
  const timeout = v.getUint32(ChainHit.kind, true) === HitKind.timeout;
  return chainHitRecord(layout.plan.name, timeout, latency, chain);
}

/** A chain hit on the output contract: begin is the origin, end the last stage (a pair). */
export function chainHitRecord(
  tracker: string,
  timeout: boolean,
  latency: number,
  chain: ChainStage[],
): HitRecord {
  const last = chain[chain.length - 1];
  return {
    type: "hit",
    tracker,
    kind: timeout ? "timeout" : "threshold",
    latency_ns: latency,
    key: [],
    begin: contextOf(chain[0]),
    end: timeout ? null : contextOf(last),
    snapshot: null,
    stack: null,
    chain,
  };
}

function contextOf(s: ChainStage): EventContext {
  return { probe: s.probe, ts_ns: s.ts_ns, cpu: s.cpu, tid: s.tid, pid: s.pid, comm: s.comm };
}

/** The names of a chain's segments: origin → waypoints → target [→ block]. */
export function segmentNames(layout: ChainOf): { from: string; to: string }[] {
  const chain = layout.plan.chain!;
  const names = chain.steps.map((s) => s.side.probe.name);
  if (chain.until === "block") names.push("block");
  return names.slice(1).map((to, i) => ({ from: names[i], to }));
}

/** One segment's summary from its counters (as the plain tracker's). */
export function segmentSummary(
  name: { from: string; to: string },
  c: KernelCounters,
  tracker: string,
): SegmentSummary {
  const stats = new LatencyStats(`${tracker}:${name.from}->${name.to}`);
  stats.pairs = c.pairs;
  stats.minNs = c.min === null ? null : Number(c.min);
  stats.maxNs = c.max === null ? null : Number(c.max);
  stats.sumNs = Number(c.sumNs);
  c.hist.forEach((count, k) => {
    if (count > 0) stats.addBucket(k, count);
  });
  const { pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns } = stats.summary();
  return { ...name, pairs, min_ns, p50_ns, p99_ns, max_ns, hist, sum_ns };
}

/**
 * Chains past their deadline at `nowNs`, each one timeout hit showing its furthest branch's
 * stages (where the path is stuck). Releasing the chain's slot decides a race with a branch
 * ending in the kernel: only one of them reports the chain. Every branch is then removed.
 */
export function sweepChains(
  chains: ChainTable,
  layout: TrackerLayout,
  nowNs: bigint,
  timeoutNs: bigint,
): HitRecord[] {
  const byChain = new Map<bigint, HeldToken[]>();
  for (const held of chains.heldTokens()) {
    const v = new DataView(held.token.buffer, held.token.byteOffset);
    if (v.getBigUint64(Token.originTs, true) + timeoutNs >= nowNs) continue;
    const id = v.getBigUint64(Token.chain, true);
    byChain.set(id, [...(byChain.get(id) ?? []), held]);
  }
  const hits: HitRecord[] = [];
  for (const branches of byChain.values()) {
    if (!chains.release(branches[0].token)) continue;
    for (const b of branches) chains.removeToken(b);
    const best = branches.map((b) => b.token).reduce((a, b) => (further(b, a) ? b : a));
    const chain = decodeStages(best, 0, layout);
    hits.push({
      type: "hit",
      tracker: layout.plan.name,
      kind: "timeout",
      latency_ns: Number(nowNs - chain[0].ts_ns),
      key: [],
      begin: contextOf(chain[0]),
      end: null,
      snapshot: null,
      stack: null,
      chain,
    });
  }
  return hits;
}

/** The branch that got furthest: most steps reached, then most stages, then latest. */
function further(a: Uint8Array, b: Uint8Array): boolean {
  const va = new DataView(a.buffer, a.byteOffset);
  const vb = new DataView(b.buffer, b.byteOffset);
  const step = va.getUint32(Token.step, true) - vb.getUint32(Token.step, true);
  if (step !== 0) return step > 0;
  const na = va.getUint32(Token.stages, true);
  const nb = vb.getUint32(Token.stages, true);
  if (na !== nb) return na > nb;
  const last = (v: DataView, n: number) =>
    v.getBigUint64(Token.stage0 + (n - 1) * Stage.size, true);
  return last(va, na) > last(vb, nb);
}
