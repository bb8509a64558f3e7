// Decoding what the BPF programs write (layouts in src/compiler/bpf/layout.ts): hit records
// from the ring buffer, pending-begin values, keys, and the per-CPU stats of a tracker.

import type { TrackerLayout } from "../compiler/bpf/codegen.ts";
import { Ctx, captureLayout, Hit, HitKind, hitCaptures, Stats } from "../compiler/bpf/layout.ts";
import { type CapturedSide, completeHit } from "../compiler/hit-captures.ts";
import type { ProbeSide, TrackerPlan } from "../compiler/plan.ts";
import type { EventContext, HitRecord, KeyValue } from "../records/types.ts";
import { procComm } from "./task-names.ts";

const textDecoder = new TextDecoder();

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A NUL-padded char array as a string (up to the first NUL). */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return textDecoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** The context stored at `at`; `sides` names the probe from the stored alternative index. */
export function decodeContext(
  bytes: Uint8Array,
  at: number,
  sides: readonly ProbeSide[],
): EventContext {
  const v = view(bytes);
  const pidTgid = v.getBigUint64(at + Ctx.pidTgid, true);
  const probe = sides[v.getUint32(at + Ctx.probe, true)] ?? sides[0];
  return {
    probe: probe.probe.id,
    ts_ns: v.getBigUint64(at + Ctx.ts, true),
    cpu: v.getUint32(at + Ctx.cpu, true),
    tid: Number(pidTgid & 0xffffffffn),
    pid: Number(pidTgid >> 32n),
    comm: cString(bytes.subarray(at + Ctx.comm, at + Ctx.comm + 16)),
  };
}

export function decodeKey(bytes: Uint8Array, at: number, layout: TrackerLayout): KeyValue[] {
  const v = view(bytes);
  return layout.plan.keyTypes.map((type, i) => {
    const off = at + layout.key.offsets[i];
    if (type.kind === "string") return cString(bytes.subarray(off, off + type.size));
    return type.signed ? v.getBigInt64(off, true) : v.getBigUint64(off, true);
  });
}

/** A ring-buffer record → HitRecord; `stackId` is returned for symbolising (-1: none). */
export function decodeHit(
  bytes: Uint8Array,
  layout: TrackerLayout,
): { hit: HitRecord; stackId: number } {
  const v = view(bytes);
  const timeout = v.getUint32(Hit.kind, true) === HitKind.timeout;
  const plan = layout.plan;
  const hit: HitRecord = {
    type: "hit",
    tracker: plan.name,
    kind: timeout ? "timeout" : "threshold",
    latency_ns: Number(v.getBigUint64(Hit.latency, true)),
    key: decodeKey(bytes, Hit.key, layout),
    begin: decodeContext(bytes, Hit.begin, plan.begins),
    end: timeout ? null : decodeContext(bytes, Hit.end, plan.ends),
    snapshot: null,
    stack: null,
  };
  const stackId = Number(v.getBigInt64(Hit.stackId, true));
  const size = captureLayout(plan).size;
  if (!plan.keyTask && size === 0) return { hit, stackId };
  const at = hitCaptures(layout.key.size, size);
  const begin = decodeCaptures(
    bytes,
    at.begin,
    plan,
    "begins",
    v.getUint32(Hit.begin + Ctx.probe, true),
  );
  const end = timeout
    ? null
    : decodeCaptures(bytes, at.end, plan, "ends", v.getUint32(Hit.end + Ctx.probe, true));
  return { hit: completeHit(plan, hit, begin, end, procComm), stackId };
}

/** The captured values stored at `at` by alternative `alternative` of a side. */
export function decodeCaptures(
  bytes: Uint8Array,
  at: number,
  plan: TrackerPlan,
  role: "begins" | "ends",
  alternative: number,
): CapturedSide {
  const v = view(bytes);
  const layout = captureLayout(plan);
  const values = (plan.captures ?? []).map((capture, i): KeyValue | undefined => {
    const expr = capture[role][alternative];
    if (!expr) return undefined;
    const off = at + layout.offsets[i];
    if (capture.type.kind === "string") {
      return cString(bytes.subarray(off, off + capture.type.size));
    }
    const signed = expr.type.kind === "int" && expr.type.signed;
    return signed ? v.getBigInt64(off, true) : v.getBigUint64(off, true);
  });
  return { alternative, values };
}

/** The counters of one tracker, summed over CPUs (per-CPU values are 8-byte aligned). */
export interface KernelCounters {
  pairs: number;
  hits: number;
  lostHits: number;
  dropped: number;
  timeouts: number;
  cancelled: number;
  broken: number;
  min: bigint | null;
  max: bigint | null;
  /** The exact sum of the latencies of the pairs counted. */
  sumNs: bigint;
  /** hist[k] counts latencies v with 2^(k-1) < v <= 2^k. */
  hist: number[];
}

export function decodeStats(perCpu: Uint8Array, cpus: number): KernelCounters {
  const v = view(perCpu);
  const out: KernelCounters = {
    pairs: 0,
    hits: 0,
    lostHits: 0,
    dropped: 0,
    timeouts: 0,
    cancelled: 0,
    broken: 0,
    min: null,
    max: null,
    sumNs: 0n,
    hist: new Array(Stats.buckets).fill(0),
  };
  let minInverted = 0n;
  for (let cpu = 0; cpu < cpus; cpu++) {
    const base = cpu * Stats.size;
    const u64 = (off: number) => v.getBigUint64(base + off, true);
    out.pairs += Number(u64(Stats.pairs));
    out.hits += Number(u64(Stats.hits));
    out.lostHits += Number(u64(Stats.lostHits));
    out.dropped += Number(u64(Stats.dropped));
    out.timeouts += Number(u64(Stats.timeouts));
    out.cancelled += Number(u64(Stats.cancelled));
    out.broken += Number(u64(Stats.broken));
    out.sumNs += u64(Stats.sum);
    if (u64(Stats.minInverted) > minInverted) minInverted = u64(Stats.minInverted);
    const max = u64(Stats.max);
    if (out.pairs > 0 && (out.max === null || max > out.max)) out.max = max;
    for (let k = 0; k < Stats.buckets; k++) out.hist[k] += Number(u64(Stats.hist + k * 8));
  }
  if (minInverted !== 0n) out.min = BigInt.asUintN(64, ~minInverted);
  if (out.pairs === 0) out.max = null;
  return out;
}
