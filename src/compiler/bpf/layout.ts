// Byte layouts shared by the generated BPF programs and the live session that decodes
// them: the pending-begin value, the ring-buffer hit record, the per-CPU stats value, keys.

import { hasAction } from "../actions.ts";
import type { TrackerPlan, ValueType } from "../plan.ts";

/** An event context as the programs store it (40 bytes). */
export const Ctx = {
  ts: 0, // u64 bpf_ktime_get_ns
  pidTgid: 8, // u64 tgid << 32 | tid
  cpu: 16, // u32
  probe: 20, // u32 index of the alternative (begins[i] / ends[i])
  comm: 24, // char[16]
  size: 40,
} as const;

/**
 * The pending-begin value: a context, the begin's stack id for timeouts with `stack`, and
 * the begin's values of plan.captures (`then print` fields, the key task's name).
 */
export interface PendingLayout {
  /** False for aggregate-only trackers: the value is just the begin timestamp. */
  withContext: boolean;
  /** Offset of the s64 stack id, or -1. */
  stackId: number;
  /** Offset of the captured values; -1 or absent (chain tokens) when the plan captures none. */
  captures?: number;
  size: number;
}

export function pendingLayout(plan: TrackerPlan): PendingLayout {
  const withContext = plan.thresholdNs !== null || plan.timeoutNs !== null;
  const beginStack = plan.timeoutNs !== null && hasAction(plan, "stack");
  if (!withContext) return { withContext, stackId: -1, captures: -1, size: 8 };
  const captured = captureLayout(plan);
  const afterStack = Ctx.size + (beginStack ? 8 : 0);
  return {
    withContext,
    stackId: beginStack ? Ctx.size : -1,
    captures: captured.size > 0 ? afterStack : -1,
    size: afterStack + captured.size,
  };
}

/** Slots of plan.captures, laid out as key parts are (ints as 8 bytes); size 0 when none. */
export function captureLayout(plan: TrackerPlan): KeyLayout {
  const types = (plan.captures ?? []).map((c) => c.type);
  return types.length === 0 ? { offsets: [], size: 0 } : keyLayout(types);
}

/** A hit record in the ring buffer (threshold hits; timeouts are found by user space). */
export const Hit = {
  tracker: 0, // u32 tracker index in the program
  kind: 4, // u32 HitKind
  latency: 8, // u64 ns
  begin: 16, // Ctx
  end: 56, // Ctx
  stackId: 96, // s64, -1 when the tracker has no `stack` or the walk failed
  key: 104, // the key bytes, then the begin's captured values, then the end's
} as const;

export const HitKind = { threshold: 0, timeout: 1 } as const;

/** Where the begin's and the end's captured values are in a hit record. */
export function hitCaptures(keySize: number, captureSize: number): { begin: number; end: number } {
  return { begin: Hit.key + keySize, end: Hit.key + keySize + captureSize };
}

export function hitRecordSize(keySize: number, captureSize = 0): number {
  return Hit.key + keySize + 2 * captureSize;
}

/**
 * The per-CPU stats value of one tracker (u64s). Min is stored inverted (~min) so that 0
 * means unset. What every pair updates (pairs to sum) is contiguous, before the histogram.
 */
export const Stats = {
  pairs: 0,
  hits: 8,
  lostHits: 16,
  dropped: 24,
  minInverted: 32,
  max: 40,
  /** Ends that came after the deadline: the end program turns them into timeout hits. */
  timeouts: 48,
  /** The exact sum of the latencies of the pairs counted (Prometheus' `_sum`), beside them. */
  sum: 56,
  hist: 64, // u64[64]: bucket k counts latencies v with 2^(k-1) < v <= 2^k (bucket 0: v <= 1)
  buckets: 64,
  /** Begins forgotten by a `cancel` clause (after the histogram: the offsets above stay). */
  cancelled: 64 + 64 * 8,
  /** Chain trackers: chains whose every branch was dropped before the target. */
  broken: 64 + 64 * 8 + 8,
  size: 64 + 64 * 8 + 16,
} as const;

/** Where each key element lives in the key buffer: ints widened to 8 bytes, strings padded to 8. */
export interface KeyLayout {
  offsets: number[];
  size: number;
}

export function keySlotSize(type: ValueType): number {
  return type.kind === "int" ? 8 : align8(type.size);
}

export function keyLayout(types: readonly ValueType[]): KeyLayout {
  const offsets: number[] = [];
  let size = 0;
  for (const t of types) {
    offsets.push(size);
    size += keySlotSize(t);
  }
  return { offsets, size: Math.max(size, 8) };
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Frames kept per stack (PERF_MAX_STACK_DEPTH) and distinct stacks kept per tracker. */
export const STACK_DEPTH = 127;
export const STACK_ENTRIES = 1024;

/** The programs' name for the ring buffer all trackers of a session share. */
export const RINGBUF_REF = "hits";

/**
 * Byte offsets in this kernel's task_struct (from BTF): with them the programs read the
 * current task's pid, tgid and comm with loads through bpf_get_current_task_btf().
 */
export interface TaskOffsets {
  pid: number;
  tgid: number;
  comm: number;
}

/**
 * The set-associative pending table: an mmap-able ARRAY of buckets, the bucket chosen by a
 * multiplicative hash of the key, each bucket a header word (`overflow`) then WAYS slots.
 * Cheaper than a HASH map (no bucket lock, no allocation, no delete): a slot is claimed with
 * cmpxchg on its state word, `generation << 2 | status`, and published or released by its
 * claimer's plain store (a busy slot has one owner), the generation bumped by each begin so
 * that a stale claim fails. A second ARRAY holds one `seq` word per (far) bucket that orders
 * the begins of the bucket's keys (even: idle): a begin that adds or replaces a key bumps it
 * to odd with cmpxchg and back to even when done.
 *
 * A large table has two levels: a few near buckets first (a few KB, which stay in cache), then
 * the far buckets that hold the capacity. A key lives in its near bucket while that has room,
 * else in its far bucket; the near bucket's `overflow` counts its keys that live far, so that
 * a lookup reads the far bucket only when one may be there. A key's far bucket is chosen by
 * more bits of the same hash, so each near bucket owns its own far buckets; the `seq` of the
 * key's far bucket orders its begins at either level (a near slot, which keys of other far
 * buckets share, is claimed with cmpxchg).
 */
export const SlotStatus = { free: 0, busy: 1, ready: 2 } as const;

/** Slots per bucket: with 4 × capacity slots, 16 ways make a full bucket before capacity rare. */
export const WAYS = 16;

/** Near buckets of a two-level table. */
const NEAR_BITS = 4;
/** A table of fewer far buckets than this is small enough to stay in cache: one level. */
const TWO_LEVELS_FROM = 64;

export interface SetAssociativeLayout {
  kind: "set-associative";
  /** Slots of the far level: a power of two, at least 4 × capacity (see README for the drop odds). */
  slots: number;
  /** Buckets in the array: the near ones, then the far ones. */
  buckets: number;
  /** log2(near buckets), 0 for a one-level table (no near buckets). */
  nearBits: number;
  /** log2(far buckets): the hash keeps this many top bits. */
  bits: number;
  ways: number;
  /** Bytes per bucket (the array's value): the header, then `ways` slots. */
  bucketSize: number;
  slotSize: number;
  /** The header word: (near buckets) how many of the bucket's keys live far. */
  overflow: 0;
  /** Offset of slot 0 in a bucket; slot i is at firstSlot + i × slotSize. */
  firstSlot: 8;
  /** Offsets inside a slot. */
  state: 0;
  key: 8;
  value: number;
}

/** The BPF HASH map as the pending table: exact capacity, dearer per begin and end. */
export interface HashTableLayout {
  kind: "hash";
}

/** The segments of a chain tracker: between its steps, and to the block (`until block`). */
export function chainSegments(plan: TrackerPlan): number {
  const chain = plan.chain!;
  return chain.steps.length - 1 + (chain.until === "block" ? 1 : 0);
}

/**
 * A chain tracker's chain table (chain-layout.ts): an mmap-able ARRAY of buckets of `ways`
 * slots, each a chain id (0: free), its live branches and whether it moved; and its token
 * table's geometry.
 */
export interface ChainTableLayout {
  kind: "chains";
  buckets: number;
  /** log2(buckets): the hash keeps this many top bits. */
  bits: number;
  ways: number;
  slotSize: number;
  /** Bytes per bucket (the array's value): `ways` slots. */
  bucketSize: number;
  /** The token table (holder → token): set-associative slots too (chain-layout.ts). */
  tokens: TokenTableLayout;
}

/**
 * A chain tracker's token table: two mmap-able ARRAYs, the holders (per bucket `seq`, then
 * `ways` holder keys, 0: free) and the tokens (slot bucket × ways + way: a token).
 */
export interface TokenTableLayout {
  buckets: number;
  /** log2(buckets): the hash keeps this many top bits (at least 1). */
  bits: number;
  ways: number;
  /** Bytes per bucket of the holders' array: seq, then `ways` u64 keys. */
  bucketSize: number;
  /** Bytes per token (the tokens' array value). */
  tokenSize: number;
}

/** Where a tracker's pending begins (a chain tracker's chains) live; the programs and user space read it alike. */
export type PendingTableLayout = SetAssociativeLayout | HashTableLayout | ChainTableLayout;

/** At most this many slots (the map is mmap-ed by user space for the timeout sweep). */
const MAX_SLOTS = 1 << 22;

/**
 * Slots of a set-associative table for `capacity` entries (the pending table, the chain
 * table): 4 × capacity rounded up to a power of two, at least one bucket, at most MAX_SLOTS.
 */
export function tableSlots(capacity: number): number {
  let slots = WAYS;
  while (slots < 4 * capacity && slots < MAX_SLOTS) slots *= 2;
  return slots;
}

export function setAssociativeLayout(
  capacity: number,
  key: KeyLayout,
  pending: PendingLayout,
): SetAssociativeLayout {
  const slots = tableSlots(capacity);
  const value = 8 + key.size;
  const slotSize = value + pending.size;
  const farBuckets = slots / WAYS;
  const nearBits = farBuckets >= TWO_LEVELS_FROM ? NEAR_BITS : 0;
  return {
    kind: "set-associative",
    slots,
    buckets: (nearBits > 0 ? 1 << nearBits : 0) + farBuckets,
    nearBits,
    bits: Math.log2(farBuckets),
    ways: WAYS,
    bucketSize: 8 + WAYS * slotSize,
    slotSize,
    overflow: 0,
    firstSlot: 8,
    state: 0,
    key: 8,
    value,
  };
}

/** Fibonacci hashing: (key words mixed) × 2^64/φ, top `bits` bits. */
export const HASH_MULTIPLIER = 0x9e3779b97f4a7c15n;

/** The top `bits` bits of a key's hash, as the programs compute it (user space uses it in tests). */
export function bucketOf(keyBytes: Uint8Array, bits: number): number {
  const v = new DataView(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength);
  let h = v.getBigUint64(0, true);
  for (let at = 8; at < keyBytes.byteLength; at += 8) {
    h = BigInt.asUintN(64, h * HASH_MULTIPLIER) ^ v.getBigUint64(at, true);
  }
  h = BigInt.asUintN(64, h * HASH_MULTIPLIER);
  return bits === 0 ? 0 : Number(h >> BigInt(64 - bits));
}

/** The near bucket that owns far bucket `far` (an index in the array) of a two-level table. */
export function nearOwnerOf(table: SetAssociativeLayout, far: number): number {
  return (far - (1 << table.nearBits)) >> (table.bits - table.nearBits);
}
