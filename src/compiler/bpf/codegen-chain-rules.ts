// The rules of a chain tracker's programs, one function each, in the reference's terms
// (src/replay/chain.ts): scopes opened and closed, a softirq taking its raise, a tasklet its
// softirq's token, the context switch (preempted / run / block, a sched_switch step), the
// origin, the other steps, and what the context's token does (cancel, raise, waking).
// codegen-chain.ts composes them per tracepoint.

import type { ProbePlan } from "../plan.ts";
import {
  AT_TARGET,
  ChainValue,
  CpuState,
  MAX_SCOPE_DEPTH,
  stageCode,
  Token,
} from "./chain-layout.ts";
import { endChain } from "./codegen-chain-end.ts";
import { field, loadField, type StageTask } from "./codegen-chain-frame.ts";
import type { ChainOps } from "./codegen-chain-ops.ts";
import { alreadyRunning, holdsNone, markMayHold } from "./codegen-chain-running.ts";
import { increment, lookupStats } from "./codegen-program.ts";
import { EEXIST, Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
  FP,
  JEq,
  JGE,
  JLT,
  JNE,
  JSet,
  ja,
  LSh,
  ldMapFd,
  loadMem,
  Mov,
  Or,
  R0,
  R1,
  R2,
  R3,
  R6,
  R7,
  R9,
  Sub,
  storeImm,
  storeMem,
} from "./insn.ts";
import { Stats } from "./layout.ts";

/** Scopes still open at a softirq entry or a context switch missed their exit: drop them. */
export function closeScopes(ops: ChainOps): void {
  const { em } = ops;
  const s = ops.slots;
  const done = em.fresh("closed");
  ops.cpuState();
  em.emit(loadMem(R1, R0, CpuState.depth, 4), storeMem(FP, s.depth, R1, 8), JEq.imm(R1, 0, done));
  em.emit(storeImm(R0, CpuState.depth, 0, 4));
  for (let i = 0; i < MAX_SCOPE_DEPTH; i++) {
    em.emit(loadMem(R1, FP, s.depth, 8), JLT.imm(R1, i + 1, done), Mov.imm(R7, i));
    ops.scopeKey(s.other, R7);
    ops.dropToken(s.other);
  }
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

export function pushScope(ops: ChainOps, code: number): void {
  const { em } = ops;
  const full = em.fresh("scopes_full");
  ops.cpuState();
  em.emit(loadMem(R1, R0, CpuState.depth, 4), JGE.imm(R1, MAX_SCOPE_DEPTH, full));
  em.emit(Mov.reg(R2, R1), And.imm(R2, MAX_SCOPE_DEPTH - 1), LSh.imm(R2, 2), Add.reg(R2, R0));
  em.emit(storeImm(R2, CpuState.kinds, code, 4), Add.imm(R1, 1));
  em.emit(storeMem(R0, CpuState.depth, R1, 4));
  em.label(full);
  em.emit(Mov.imm(R0, 0));
}

/**
 * A scope's exit: its token is dropped, unless `irqExit`'s handler returned IRQ_WAKE_THREAD:
 * then the token moves to the CPU's IRQ tail (the kernel wakes the thread after the exit).
 */
export function popScope(ops: ChainOps, code: number, irqExit: ProbePlan | null = null): void {
  const { em } = ops;
  const done = em.fresh("popped");
  ops.cpuState();
  em.emit(loadMem(R1, R0, CpuState.depth, 4), JEq.imm(R1, 0, done), Sub.imm(R1, 1));
  em.emit(Mov.reg(R2, R1), And.imm(R2, MAX_SCOPE_DEPTH - 1), LSh.imm(R2, 2), Add.reg(R2, R0));
  em.emit(loadMem(R3, R2, CpuState.kinds, 4), JNE.imm(R3, code, done));
  em.emit(storeMem(R0, CpuState.depth, R1, 4), Mov.reg(R7, R1));
  ops.scopeKey(ops.slots.other, R7);
  if (irqExit !== null) {
    const drop = em.fresh("no_tail");
    loadField(ops.c, R1, irqExit, "ret");
    em.emit(JNE.imm(R1, IRQ_WAKE_THREAD, drop));
    ops.tailKey(null);
    ops.moveToken(ops.slots.other, ops.slots.tail, drop);
    ops.cpuState();
    em.emit(storeImm(R0, CpuState.tail, 1, 4));
    // like any move out of the origin's context: a tail no waking takes breaks the chain
    ops.chainOf(R9);
    ops.lookupChain(drop);
    em.emit(storeImm(R0, ChainValue.moved, 1, 8));
    em.label(drop);
    em.emit(Mov.imm(R0, 0));
  }
  ops.dropToken(ops.slots.other);
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/** irqreturn_t IRQ_WAKE_THREAD (include/linux/irqreturn.h). */
const IRQ_WAKE_THREAD = 2;

/** softirq_entry takes the pending raise of its vector on this CPU (stage softirq). */
export function takeRaise(ops: ChainOps, probe: ProbePlan): void {
  const { em } = ops;
  const none = em.fresh("no_raise");
  loadField(ops.c, R7, probe, "vec");
  ops.raiseKey(ops.slots.other, R7);
  ops.moveToken(ops.slots.other, ops.slots.holder, none);
  loadField(ops.c, R3, probe, "vec");
  ops.appendStage(stageCode("softirq"), 0, R3, { kind: "current" });
  em.label(none);
  em.emit(Mov.imm(R0, 0));
}

/** A tasklet runs inside a softirq: it carries that softirq's token. */
export function takeOuterScope(ops: ChainOps): void {
  const { em } = ops;
  const none = em.fresh("no_outer");
  ops.cpuState();
  em.emit(loadMem(R7, R0, CpuState.depth, 4), JLT.imm(R7, 2, none), Sub.imm(R7, 2));
  ops.scopeKey(ops.slots.other, R7);
  ops.lookupToken(ops.slots.other, none);
  em.emit(Mov.reg(R7, R0));
  ops.copyToken(ops.slots.holder, false, none);
  em.label(none);
  em.emit(Mov.imm(R0, 0));
}

export function contextSwitch(
  ops: ChainOps,
  probe: ProbePlan,
  steps: { k: number; flag: number }[],
) {
  const { em } = ops;
  const other = ops.slots.other;
  const prevDone = em.fresh("prev_done");
  loadField(ops.c, R7, probe, "prev_pid");
  holdsNone(ops, R7, prevDone);
  ops.taskKey(other, R7);
  ops.lookupToken(other, prevDone);
  em.emit(Mov.reg(R9, R0));
  const state = field(probe, "prev_state");
  em.emit(loadMem(R1, R6, state.offset, state.size as 4 | 8), And.imm(R1, 0xff));
  const blocked = em.fresh("blocked");
  em.emit(JNE.imm(R1, 0, blocked));
  ops.appendStage(stageCode("preempted"), 0, null, { kind: "current" });
  em.emit(ja(prevDone));
  em.label(blocked);
  const drop = em.fresh("drop_prev");
  const block = em.fresh("block");
  em.emit(loadMem(R1, R9, Token.flags, 4), JSet.imm(R1, AT_TARGET, block));
  em.emit(ja(drop));
  em.label(block);
  ops.appendStage(stageCode("block"), 0, null, { kind: "current" });
  // the block is the last segment's end
  em.emit(loadMem(R1, R9, Token.step, 4), And.imm(R1, 15), LSh.imm(R1, 3));
  em.emit(Add.imm(R1, Token.stepTs), Mov.reg(R2, R9), Add.reg(R2, R1));
  em.emit(JGE.imm(R1, Token.stage0, prevDone));
  em.emit(loadMem(R3, FP, ops.slots.now, 8), storeMem(R2, 0, R3, 8));
  endChain(ops, other);
  em.emit(ja(prevDone));
  em.label(drop);
  ops.dropToken(other, ops.maps.tokens, R9);
  em.label(prevDone);
  em.emit(Mov.imm(R0, 0));
  const nextDone = em.fresh("next_done");
  em.emit(storeImm(FP, ops.slots.nextHolds, 0, 8));
  loadField(ops.c, R7, probe, "next_pid");
  ops.taskKey(other, R7);
  ops.lookupToken(other, nextDone);
  em.emit(Mov.reg(R9, R0), storeImm(FP, ops.slots.nextHolds, 1, 8));
  const next: StageTask = {
    kind: "field",
    tid: field(probe, "next_pid").offset,
    comm: field(probe, "next_comm").offset,
  };
  ops.appendStage(stageCode("run"), 0, null, next);
  for (const { k, flag } of steps) {
    const skip = em.fresh("switch_step");
    em.emit(loadMem(R1, FP, flag, 8), JEq.imm(R1, 0, skip));
    em.emit(loadMem(R1, R9, Token.flags, 4), JSet.imm(R1, AT_TARGET, skip));
    em.emit(loadMem(R1, R9, Token.step, 4), JNE.imm(R1, k, skip));
    // a chain ended here leaves the task switched in holding none (its MAY_HOLD bit clear)
    ops.reach(false, other, ops.slots.nextHolds);
    em.emit(ja(nextDone));
    em.label(skip);
    em.emit(Mov.imm(R0, 0));
  }
  em.label(nextDone);
  em.emit(Mov.imm(R0, 0));
}

/**
 * The origin: a new chain, its token in the current context (keep first / keep last), or
 * under the hand-off key at `handoff` when the next step is `->` (the chain has then moved).
 */
export function createChain(
  ops: ChainOps,
  probe: ProbePlan,
  flag: number,
  handoff: number | null,
): void {
  const { em, c } = ops;
  const s = ops.slots;
  const done = em.fresh("no_origin");
  const [placeAt, placeIn] =
    handoff === null ? [s.holder, ops.maps.tokens] : [handoff, ops.maps.handoffs];
  em.emit(loadMem(R1, FP, flag, 8), JEq.imm(R1, 0, done));
  const keepLast = c.layout.plan.keep === "last";
  // the token there: replaced (keep last, which may break its chain), or kept unless withdrawn;
  // a running task whose MAY_HOLD bit is clear holds none (no lookup)
  const placing = em.fresh("origin_place");
  if (handoff === null) {
    const look = em.fresh("origin_holder");
    em.emit(loadMem(R1, FP, s.depth, 8), JNE.imm(R1, 0, look), loadMem(R7, FP, s.tid, 8));
    holdsNone(ops, R7, placing);
    em.label(look);
    em.emit(Mov.imm(R0, 0));
  }
  // keep first: a live token there wins, the origin is ignored before it costs anything
  if (keepLast) ops.dropToken(placeAt, placeIn);
  else ops.purgeWithdrawn(placeAt, placeIn, done);
  em.label(placing);
  em.emit(Mov.imm(R0, 0));
  ops.ensureNow();
  const full = em.fresh("origin_full");
  const placed = em.fresh("origin_placed");
  const abandon = em.fresh("origin_abandon");
  // the new token: written in place in its slot of the token table (the slot's bucket held
  // until it is published; a token there meanwhile: ignored under keep first, else dropped),
  // or built in the per-CPU scratch and put into the hand-off table
  const inPlace = handoff === null;
  if (inPlace) ops.reserveToken(placeAt, keepLast ? full : done, full);
  else {
    em.emit(ldMapFd(R1, ops.maps.scratch), Mov.reg(R2, FP), Add.imm(R2, s.zero));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, done));
  }
  em.emit(Mov.reg(R9, R0));
  // the chain id: this CPU's clock and number (unique: one origin per event and CPU)
  em.emit(loadMem(R1, FP, s.now, 8), LSh.imm(R1, 8), loadMem(R2, FP, s.cpu, 8), Or.reg(R1, R2));
  em.emit(storeMem(R9, Token.chain, R1, 8), storeMem(FP, s.chainId, R1, 8));
  em.emit(loadMem(R1, FP, s.now, 8), storeMem(R9, Token.originTs, R1, 8));
  em.emit(storeMem(R9, Token.stepTs, R1, 8), storeImm(R9, Token.step, 1, 4));
  em.emit(storeImm(R9, Token.flags, 0, 4), storeImm(R9, Token.stages, 0, 4));
  const detail =
    probe.id === "irq:irq_handler_entry"
      ? "irq"
      : probe.id.startsWith("irq:softirq_")
        ? "vec"
        : null;
  if (detail !== null) loadField(c, R3, probe, detail);
  ops.appendStage(stageCode("origin"), 0, detail === null ? null : R3, { kind: "current" });
  if (inPlace) {
    ops.claimChain(R9, 0, abandon);
    ops.publishToken(placeAt);
    em.emit(ja(placed));
    em.label(abandon);
    ops.abandonToken();
  } else {
    ops.claimChain(R9, 1, full);
    ops.putToken(placeAt, R9, keepLast, placeIn);
    em.emit(JEq.imm(R0, 0, placed), Mov.reg(R7, R0));
    ops.deleteChain();
    em.emit(JEq.imm(R7, -EEXIST, done));
  }
  em.label(full);
  lookupStats(c);
  increment(em, R0, Stats.dropped);
  em.emit(ja(done));
  em.label(placed);
  if (inPlace) markMayHold(ops);
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/** A step of this event: its index, filter flag, and its hand-off key buffers (`->`). */
export interface EventStep {
  k: number;
  flag: number;
  /** Via key: the key this step looks up (index k). */
  lookup: number | null;
  /** The next step is via key: the key the token is handed off under (index k + 1). */
  handoff: number | null;
}

/**
 * Waypoints and targets (not sched_switch) fired in a context holding the token, or taken
 * from the hand-off table by key (`->`); a step followed by `->` hands the token off. One
 * step per event.
 */
export function reachSteps(ops: ChainOps, steps: EventStep[]): void {
  const { em } = ops;
  const s = ops.slots;
  const last = ops.c.layout.plan.chain!.steps.length - 1;
  const done = em.fresh("steps_done");
  for (const { k, flag, lookup, handoff } of steps) {
    const skip = em.fresh("step");
    em.emit(loadMem(R1, FP, flag, 8), JEq.imm(R1, 0, skip));
    const staged = em.fresh("staged");
    if (lookup !== null) {
      ops.lookupToken(lookup, skip, ops.maps.handoffs);
      em.emit(loadMem(R1, R0, Token.step, 4), JNE.imm(R1, k, skip));
      ops.handOver(lookup, ops.maps.handoffs, s.holder, ops.maps.tokens, done);
      markMayHold(ops);
    } else {
      ops.lookupToken(s.holder, skip);
      em.emit(Mov.reg(R9, R0), loadMem(R1, R9, Token.step, 4), JNE.imm(R1, k, skip));
      // the event that moved the token here (a softirq entry) is not a second stage
      ops.ifLastStageIsThisEvent(staged);
    }
    ops.appendStage(stageCode(k === last ? "target" : "waypoint"), k, null, { kind: "current" });
    em.label(staged);
    ops.reach(true, s.holder);
    if (handoff !== null) ops.handOver(s.holder, ops.maps.tokens, handoff, ops.maps.handoffs, done);
    em.emit(ja(done));
    em.label(skip);
    em.emit(Mov.imm(R0, 0));
  }
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/** What the current context's token does on this event: cancelled, raised, waking a task. */
export function holderRules(ops: ChainOps, probe: ProbePlan, cancels: number[]): void {
  const { em, c } = ops;
  const s = ops.slots;
  const id = probe.id;
  const raise = id === "irq:softirq_raise";
  const waking = id === "sched:sched_waking";
  if (cancels.length === 0 && !raise && !waking) return;
  const done = em.fresh("rules_done");
  const inScope = em.fresh("in_scope");
  em.emit(loadMem(R1, FP, s.depth, 8), JNE.imm(R1, 0, inScope), loadMem(R7, FP, s.tid, 8));
  holdsNone(ops, R7, done);
  em.label(inScope);
  ops.lookupToken(s.holder, done);
  em.emit(Mov.reg(R7, R0));
  for (const flag of cancels) {
    const skip = em.fresh("cancel");
    em.emit(loadMem(R1, FP, flag, 8), JEq.imm(R1, 0, skip));
    ops.chainOf(R7);
    ops.deleteToken(s.holder);
    ops.deleteChain();
    em.emit(JNE.imm(R0, 0, done));
    lookupStats(c);
    increment(em, R0, Stats.cancelled);
    em.emit(ja(done));
    em.label(skip);
    em.emit(Mov.imm(R0, 0));
  }
  if (raise) {
    loadField(c, R9, probe, "vec");
    ops.raiseKey(s.other, R9);
    ops.copyToken(s.other, true, done);
    loadField(c, R3, probe, "vec");
    ops.appendStage(stageCode("raise"), 0, R3, { kind: "current" });
  }
  if (waking) wake(ops, probe, done);
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/** sched_waking: the token r7 points at is copied to the woken task (stage waking). */
function wake(ops: ChainOps, probe: ProbePlan, done: string): void {
  const { em } = ops;
  loadField(ops.c, R9, probe, "pid");
  em.emit(JEq.imm(R9, 0, done));
  ops.taskKey(ops.slots.other, R9);
  ops.copyToken(ops.slots.other, false, done);
  const woken = {
    kind: "field" as const,
    tid: field(probe, "pid").offset,
    comm: field(probe, "comm").offset,
  };
  ops.appendStage(stageCode("waking"), 0, null, woken);
  alreadyRunning(ops, probe, woken, done);
}

/** sched_waking: the CPU's IRQ tail (slots.tail) wakes the task as the IRQ's scope would. */
export function tailWaking(ops: ChainOps, probe: ProbePlan): void {
  const { em } = ops;
  const done = em.fresh("no_tail_waking");
  ops.tailKey(done);
  ops.lookupToken(ops.slots.tail, done);
  em.emit(Mov.reg(R7, R0));
  wake(ops, probe, done);
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}
