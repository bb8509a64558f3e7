// Decoding what a generated module gives user space (the kmod backend's counterpart of
// live-decode.ts): struct lt_hit records (offsets from kmod-runtime/lt_tracker.h) →
// HitRecord, and the stats file's lines → SummaryRecord. Shared by the kmod session (reading
// the device) and the VM test (reading the console).

import { captureLayout } from "../compiler/bpf/layout.ts";
import { completeHit, type ProcessName } from "../compiler/hit-captures.ts";
import type { ProbeSide, TrackerPlan, ValueType } from "../compiler/plan.ts";
import { LatencyStats } from "../records/stats.ts";
import type { EventContext, HitRecord, KeyValue, SummaryRecord } from "../records/types.ts";
import { decodeCaptures } from "./live-decode.ts";

/** sizeof(struct lt_hit). */
export const HIT_RECORD_SIZE = 272;
/** struct lt_hit.kind of lt_tracker.h: a hit over the threshold, a timeout. */
export const LT_HIT_THRESHOLD = 1;
export const LT_HIT_TIMEOUT = 2;
const KEY_OFFSET = 24;
const BEGIN_OFFSET = 56;
const END_OFFSET = 96;
const STACK_LEN_OFFSET = 136;
const STACK_OFFSET = 144;
const STACK_MAX = 16;
/** LT_HIT_CAPTURES: the record after a hit of a tracker with captures. */
export const LT_HIT_CAPTURES = 4;
/** Where the payload of a record that follows a hit starts (captures, a chain's parts). */
export const FOLLOWING_PAYLOAD_AT = 16;
const CAPTURE_AT = FOLLOWING_PAYLOAD_AT;

/** Whether a plan's hits are followed by a captures record (plan.captures). */
export function hasCaptures(plan: TrackerPlan): boolean {
  return captureLayout(plan).size > 0;
}

function readContext(buf: Buffer, at: number, sides: ProbeSide[]): EventContext {
  const probe = buf.readUInt16LE(at + 20);
  const comm = buf.subarray(at + 24, at + 40);
  const nul = comm.indexOf(0);
  return {
    probe: sides[probe]?.probe.id ?? `probe#${probe}`,
    ts_ns: buf.readBigUInt64LE(at),
    cpu: buf.readUInt32LE(at + 8),
    tid: buf.readInt32LE(at + 12),
    pid: buf.readInt32LE(at + 16),
    comm: comm.subarray(0, nul < 0 ? comm.length : nul).toString("latin1"),
  };
}

function readKeyValue(buf: Buffer, at: number, type: ValueType): KeyValue {
  if (type.kind === "string") {
    const bytes = buf.subarray(at, at + type.size);
    const nul = bytes.indexOf(0);
    return bytes.subarray(0, nul < 0 ? bytes.length : nul).toString("latin1");
  }
  const size = type.size;
  if (size === 8) return type.signed ? buf.readBigInt64LE(at) : buf.readBigUInt64LE(at);
  const value = type.signed ? buf.readIntLE(at, size) : buf.readUIntLE(at, size);
  return BigInt(value);
}

/** The key values, packed in plan order with no padding (the generated __packed struct). */
export function decodeKey(buf: Buffer, types: ValueType[]): KeyValue[] {
  let at = 0;
  return types.map((type) => {
    const value = readKeyValue(buf, at, type);
    at += type.size;
    return value;
  });
}

/**
 * One record; `trackers` in module order (lt_hit.tracker is the index). Null: not ours.
 * `captures`: the LT_HIT_CAPTURES record that followed it, for a plan with captures (the
 * begin's values at offset 16, then the end's, in eBPF's slots). The key's task is named
 * by the captured fields and the events' own tasks, else by `processName`.
 */
export function decodeHit(
  record: Buffer,
  trackers: TrackerPlan[],
  processName?: ProcessName,
  captures?: Buffer,
): HitRecord | null {
  if (record.length < HIT_RECORD_SIZE) return null;
  const plan = trackers[record.readUInt32LE(0)];
  const kind = record.readUInt32LE(4);
  if (!plan || (kind !== LT_HIT_THRESHOLD && kind !== LT_HIT_TIMEOUT)) return null;
  const keySize = record.readUInt32LE(16);
  const key = decodeKey(record.subarray(KEY_OFFSET, KEY_OFFSET + keySize), plan.keyTypes);
  const timeout = kind === LT_HIT_TIMEOUT;
  const hit: HitRecord = {
    type: "hit",
    tracker: plan.name,
    kind: timeout ? "timeout" : "threshold",
    latency_ns: Number(record.readBigUInt64LE(8)),
    key,
    begin: readContext(record, BEGIN_OFFSET, plan.begins),
    end: timeout ? null : readContext(record, END_OFFSET, plan.ends),
    snapshot: null,
    stack: null,
  };
  if (!plan.keyTask && !hasCaptures(plan)) return hit;
  const size = captureLayout(plan).size;
  const side = (at: number, role: "begins" | "ends", from: number) => {
    const alternative = record.readUInt16LE(at + 20);
    if (!captures || !hasCaptures(plan)) return { alternative, values: [] };
    return decodeCaptures(captures, from, plan, role, alternative);
  };
  const begin = side(BEGIN_OFFSET, "begins", CAPTURE_AT);
  const end = timeout ? null : side(END_OFFSET, "ends", CAPTURE_AT + size);
  return completeHit(plan, hit, begin, end, processName);
}

/** The record's kernel stack (trackers with `stack`), innermost first; [] when none. */
export function decodeStack(record: Buffer): bigint[] {
  const length = Math.min(record.readUInt32LE(STACK_LEN_OFFSET), STACK_MAX);
  return Array.from({ length }, (_, i) => record.readBigUInt64LE(STACK_OFFSET + 8 * i));
}

/** One line of /proc/ltsh_MOD/stats as key=value pairs. */
export function parseStatsLine(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of line.trim().split(/\s+/)) {
    const eq = pair.indexOf("=");
    if (eq > 0) fields[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return fields;
}

/**
 * The stats file → one SummaryRecord per tracker line; `lost` hits count as dropped.
 * `cancelled` is there when the runtime counts it (every build since `cancel` ran on kmod).
 */
export function parseStats(text: string): SummaryRecord[] {
  const summaries: SummaryRecord[] = [];
  for (const line of text.split("\n")) {
    const f = parseStatsLine(line);
    if (f.tracker === undefined) continue;
    const stats = new LatencyStats(f.tracker);
    const num = (name: string) => Number(f[name] ?? 0);
    stats.pairs = num("pairs");
    stats.hits = num("hits");
    stats.timeouts = num("timeouts");
    stats.dropped = num("dropped") + num("lost");
    stats.pending = num("pending");
    stats.sumNs = num("sum_ns");
    if (stats.pairs > 0) {
      stats.minNs = num("min_ns");
      stats.maxNs = num("max_ns");
    }
    // The runtime indexes its buckets as bucketIndex() does (le_ns = 2^index).
    (f.hist ?? "").split(",").forEach((count, index) => {
      if (Number(count) > 0) stats.addBucket(index, Number(count));
    });
    const summary = stats.summary();
    summaries.push(
      f.cancelled === undefined ? summary : { ...summary, cancelled: num("cancelled") },
    );
  }
  return summaries;
}
