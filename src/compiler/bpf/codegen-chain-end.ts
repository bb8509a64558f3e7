// The end of a chain on eBPF: the CPU that deletes the chain's id from the chain table wins
// (the other branches are withdrawn); an end after the timeout is a timeout hit whose stages
// stop before this event (as in replay, where trace time expires the chain first); else a
// pair: a hit over the threshold, the pair's counters and each segment's.

import { CHAIN_HIT_SIZE, ChainHit, Token } from "./chain-layout.ts";
import type { ChainOps } from "./codegen-chain-ops.ts";
import { countPair, emitHistogram, emitMinMax } from "./codegen-end.ts";
import { increment, lookupStats } from "./codegen-program.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  call,
  FP,
  JEq,
  JLE,
  JNE,
  ja,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R7,
  R8,
  R9,
  Sub,
  storeImm,
  storeMem,
} from "./insn.ts";
import { chainSegments, HitKind, RINGBUF_REF, Stats } from "./layout.ts";
import { submitFlags } from "./ring-wakeup.ts";

/** The chain of the token r9 points at ends now; its token (key at `tokenKey`) is deleted. Clobbers r6–r9 but r6. */
export function endChain(ops: ChainOps, tokenKey: number): void {
  const { em, c } = ops;
  const plan = c.layout.plan;
  const done = em.fresh("ended");
  ops.ensureNow();
  em.emit(Mov.reg(R7, R9));
  ops.chainOf(R7);
  ops.deleteChain();
  em.emit(JNE.imm(R0, 0, `${done}_withdrawn`));
  em.emit(loadMem(R8, FP, ops.slots.now, 8), loadMem(R1, R7, Token.originTs, 8));
  em.emit(Sub.reg(R8, R1), Mov.imm(R9, 0));
  if (plan.timeoutNs !== null) {
    em.emit(ldImm64(R1, BigInt(plan.timeoutNs)), JLE.reg(R8, R1, `${done}_in_time`));
    hitRecord(ops, "timeout", `${done}_late`);
    em.label(`${done}_late`);
    lookupStats(c);
    increment(em, R0, Stats.timeouts);
    em.emit(Mov.reg(R1, R9), ja(`${done}_lost`));
    em.label(`${done}_in_time`);
    em.emit(Mov.imm(R0, 0));
  }
  if (plan.thresholdNs !== null) {
    em.emit(ldImm64(R1, BigInt(plan.thresholdNs)), JLE.reg(R8, R1, `${done}_count`));
    hitRecord(ops, "threshold", `${done}_count`);
  }
  em.label(`${done}_count`);
  countPair(c);
  countSegments(ops);
  em.emit(ja(`${done}_withdrawn`));
  if (plan.timeoutNs !== null) {
    // a lost timeout hit (r1 = 3) counts as lost, as the plain end's
    em.label(`${done}_lost`);
    em.emit(JNE.imm(R1, 3, `${done}_withdrawn`));
    lookupStats(c);
    increment(em, R0, Stats.lostHits);
  }
  em.label(`${done}_withdrawn`);
  ops.deleteToken(tokenKey);
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/** The token (r7) into a hit record, latency r8; r9 = 1 delivered, 3 lost; then `next`. */
function hitRecord(ops: ChainOps, kind: "threshold" | "timeout", next: string): void {
  const { em, c } = ops;
  const fill = em.fresh("hit_fill");
  em.emit(ldMapFd(R1, RINGBUF_REF), Mov.imm(R2, CHAIN_HIT_SIZE), Mov.imm(R3, 0));
  em.emit(call(Helper.ringbuf_reserve), Mov.reg(R9, R0), JNE.imm(R9, 0, fill));
  em.emit(Mov.imm(R9, 3), ja(next));
  em.label(fill);
  em.emit(storeImm(R9, ChainHit.tracker, c.layout.index, 4));
  em.emit(storeImm(R9, ChainHit.kind, HitKind[kind], 4));
  em.emit(storeMem(R9, ChainHit.latency, R8, 8));
  em.emit(Mov.reg(R1, R9), Add.imm(R1, ChainHit.token), Mov.imm(R2, Token.size));
  em.emit(Mov.reg(R3, R7), call(Helper.probe_read_kernel));
  if (kind === "timeout") {
    // where the chain was stuck: the stages before this event's
    em.emit(loadMem(R1, R9, ChainHit.token + Token.stages, 4), Sub.imm(R1, 1));
    em.emit(storeMem(R9, ChainHit.token + Token.stages, R1, 4));
  }
  const flags = submitFlags(c.side.probe);
  em.emit(Mov.reg(R1, R9), Mov.imm(R2, flags), call(Helper.ringbuf_submit), Mov.imm(R9, 1));
  em.emit(ja(next));
}

/**
 * Each segment between steps reached: its own counters (r7 = the token). A chain of one
 * segment has none: that segment is the pair (origin to target, the same clock readings),
 * which user space reads from the tracker's counters.
 */
function countSegments(ops: ChainOps): void {
  const { em } = ops;
  const segments = chainSegments(ops.c.layout.plan);
  if (segments === 1) return;
  const index = em.alloc(8);
  for (let k = 0; k < segments; k++) {
    const skip = em.fresh("segment");
    em.emit(storeImm(FP, index, k, 8), ldMapFd(R1, ops.maps.segments));
    em.emit(Mov.reg(R2, FP), Add.imm(R2, index), call(Helper.map_lookup_elem));
    em.emit(JEq.imm(R0, 0, skip));
    em.emit(loadMem(R8, R7, Token.stepTs + (k + 1) * 8, 8));
    em.emit(loadMem(R1, R7, Token.stepTs + k * 8, 8), Sub.reg(R8, R1));
    increment(em, R0, Stats.pairs);
    em.emit(loadMem(R1, R0, Stats.sum, 8), Add.reg(R1, R8), storeMem(R0, Stats.sum, R1, 8));
    emitMinMax(em);
    emitHistogram(em);
    em.label(skip);
    em.emit(Mov.imm(R0, 0));
  }
}
