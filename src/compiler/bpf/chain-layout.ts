// Byte layouts of chain trackers on eBPF, shared by the programs (codegen-chain*.ts) and the
// live session that decodes them (src/session/live-chain.ts): a token (the chain's header and
// a fixed number of stages), the holder keys of the token table, the per-CPU scope stack,
// the chain table's geometry and slots, and the hit record.

import { MAX_CHAIN_STEPS } from "../plan.ts";
import { type ChainTableLayout, type TokenTableLayout, tableSlots, WAYS } from "./layout.ts";

/** Stages a token keeps on eBPF; past it the latest stage replaces the last one kept. */
export const BPF_MAX_STAGES = 16;

/** One stage: the Ctx layout (ts, pid_tgid, cpu, info, comm), info = kind << 24 | step << 16 | detail. */
export const Stage = { ts: 0, pidTgid: 8, cpu: 16, info: 20, comm: 24, size: 40 } as const;

/** Stage kinds as the programs store them (ChainStage.stage names them). */
export const STAGE_KINDS = [
  "origin",
  "raise",
  "softirq",
  "waking",
  "run",
  "preempted",
  "waypoint",
  "target",
  "block",
] as const;
export type BpfStageKind = (typeof STAGE_KINDS)[number];
export const stageCode = (kind: BpfStageKind) => STAGE_KINDS.indexOf(kind);

/** A token: which chain, its origin, the steps reached (and when), then its stages. */
export const Token = {
  chain: 0, // u64 chain id (the chain table's key)
  originTs: 8, // u64
  step: 16, // u32 index of the next step to reach
  flags: 20, // u32 bit 0: at the target, waiting for the block (until block)
  stages: 24, // u32 stages kept
  chainAt: 28, // u32 the chain's slot in the chain table: bucket << 4 | way
  stepTs: 32, // u64[MAX_CHAIN_STEPS + 2]: when each step (and the block) was reached
  stage0: 32 + (MAX_CHAIN_STEPS + 2) * 8,
  size: 32 + (MAX_CHAIN_STEPS + 2) * 8 + BPF_MAX_STAGES * Stage.size,
} as const;

export const AT_TARGET = 1;

/**
 * Holder keys of the token table (u64): a task by tid (the idle task: IDLE | cpu), an open
 * scope by CPU and depth, a pending softirq raise by CPU and vector, a CPU's IRQ tail.
 */
export const Holder = {
  idle: 1n << 40n,
  scope: 2n << 56n,
  raise: 3n << 56n,
  tail: 4n << 56n,
} as const;

/**
 * The per-CPU scope stack: depth, whether the CPU's IRQ tail may hold a token (so that most
 * scope events and wakings skip its lookup), then each open scope's kind code.
 */
export const MAX_SCOPE_DEPTH = 8;
export const CpuState = { depth: 0, tail: 4, kinds: 8, size: 8 + MAX_SCOPE_DEPTH * 4 } as const;

/**
 * A slot of the chain table: the chain id holding it (0: free; claimed and released with
 * cmpxchg), its live branches (atomic), and whether the chain left its origin.
 */
export const ChainValue = { id: 0, branches: 8, moved: 16, size: 24 } as const;

/**
 * The chain table for `capacity` tokens: buckets of WAYS slots, 4 × capacity slots in all
 * (a power of two), as the plain trackers' pending table; a chain's bucket is the top bits
 * of its id × 2^64/φ. Every live chain has a token, so at most `capacity` chains (twice that
 * with hand-offs) share the slots: a full bucket is as rare as in the pending table.
 */
export function chainTableLayout(capacity: number): ChainTableLayout {
  const buckets = tableSlots(capacity) / WAYS;
  return {
    kind: "chains",
    buckets,
    bits: Math.log2(buckets),
    ways: WAYS,
    slotSize: ChainValue.size,
    bucketSize: WAYS * ChainValue.size,
    tokens: tokenTableLayout(capacity),
  };
}

/**
 * The token table for `capacity` tokens: buckets of WAYS holder keys, 2 × capacity slots in
 * all (a power of two, at least two buckets: the bucket index is then a value the verifier
 * does not know, so the 16 ways a lookup may find merge into one path), each slot's token in
 * a second array at bucket × WAYS + way. A holder's bucket is the top bits of its key ×
 * 2^64/φ. Half the pending table's slots per entry: a token is 752 bytes.
 */
export function tokenTableLayout(capacity: number): TokenTableLayout {
  const buckets = Math.max(2, tableSlots(capacity) / 2 / WAYS);
  return {
    buckets,
    bits: Math.log2(buckets),
    ways: WAYS,
    bucketSize: TokenHolders.keys + WAYS * 8,
    tokenSize: Token.size,
  };
}

/**
 * A bucket of the token table's holders: seq (even: idle; odd: a put is adding a holder),
 * the ways that may hold a key (bit w: way w; a superset: a put sets it exactly from its
 * scan, a removal leaves its bit), then the keys. A lookup in a bucket whose mask is 0 (most
 * lookups: most tasks hold no token) reads one word.
 */
export const TokenHolders = { seq: 0, mayHold: 8, keys: 16 } as const;

/** A chain hit in the ring buffer: the tracker, the kind, the latency, the token. */
export const ChainHit = { tracker: 0, kind: 4, latency: 8, token: 16 } as const;
export const CHAIN_HIT_SIZE = ChainHit.token + Token.size;
