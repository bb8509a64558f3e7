// The `running` map of a chain tracker (an ARRAY by CPU, read across CPUs): the task each
// CPU runs and what its switch-in met, for two rules: a woken task that is already running is
// a holder at once (alreadyRunning), and an event of a running task that holds no token skips
// the token lookups (the MAY_HOLD bit). Entry: u32 tid, u32 flags (bit k: the switch step k's
// filter held at the switch-in; MAY_HOLD). Written by the sched_switch program (recordRunning).

import type { ProbePlan } from "../plan.ts";
import { AT_TARGET, stageCode, Token } from "./chain-layout.ts";
import { loadField, type StageTask } from "./codegen-chain-frame.ts";
import type { ChainOps } from "./codegen-chain-ops.ts";
import type { EventStep } from "./codegen-chain-rules.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
  FP,
  JEq,
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
  R7,
  R9,
  type Register,
  RSh,
  storeImm,
  storeMem,
} from "./insn.ts";

/**
 * Bit of a `running` entry's flags (bits 0–15: the switch steps its switch-in met): the task
 * running there may hold a token. Set wherever a token is put on a task that runs, reset by
 * each switch-in (to whether the task switched in holds one). While it is clear, an event of
 * that task skips the token lookups: most events are of tasks that hold none.
 */
export const MAY_HOLD = 1 << 30;

/** r0 = this CPU's entry of the running map, or jump to `none` (it cannot fail). */
function runningHere(ops: ChainOps, none: string): void {
  ops.em.emit(ldMapFd(R1, ops.maps.running), Mov.reg(R2, FP), Add.imm(R2, ops.slots.cpu));
  ops.em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, none));
}

/** Jumps to `none` when task `tid` (r6–r9) runs on this CPU and holds no token (MAY_HOLD clear). */
export function holdsNone(ops: ChainOps, tid: Register, none: string): void {
  const { em } = ops;
  const maybe = em.fresh("may_hold");
  runningHere(ops, maybe);
  em.emit(loadMem(R1, R0, 0, 4), JNE.reg(R1, tid, maybe));
  em.emit(loadMem(R1, R0, 4, 4), JSet.imm(R1, MAY_HOLD, maybe), ja(none));
  em.label(maybe);
  em.emit(Mov.imm(R0, 0));
}

/** A token was put on this CPU's context: the task running here may hold one. */
export function markMayHold(ops: ChainOps): void {
  const { em } = ops;
  const done = em.fresh("marked_running");
  runningHere(ops, done);
  em.emit(loadMem(R1, R0, 4, 4), Or.imm(R1, MAY_HOLD), storeMem(R0, 4, R1, 4));
  em.label(done);
  em.emit(Mov.imm(R0, 0));
}

/**
 * A woken task that is already running (the current task of a CPU) is a holder at once: it
 * records `run` now, on its CPU, and its switch-in may reach a sched_switch step (the filter
 * results of that switch-in are kept per CPU). r9 = the woken task's token.
 */
export function alreadyRunning(
  ops: ChainOps,
  probe: ProbePlan,
  woken: { kind: "field"; tid: number; comm: number },
  done: string,
): void {
  const { em } = ops;
  const s = ops.slots;
  const found = em.fresh("running");
  const index = em.alloc(8);
  loadField(ops.c, R7, probe, "pid");
  for (let cpu = 0; cpu < ops.cpus; cpu++) {
    const next = em.fresh("not_there");
    em.emit(storeImm(FP, index, cpu, 8), ldMapFd(R1, ops.maps.running));
    em.emit(Mov.reg(R2, FP), Add.imm(R2, index), call(Helper.map_lookup_elem));
    em.emit(JEq.imm(R0, 0, next), loadMem(R1, R0, 0, 4), JNE.reg(R1, R7, next));
    em.emit(storeImm(FP, s.runCpu, cpu, 8), loadMem(R1, R0, 4, 4), storeMem(FP, s.runFlags, R1, 8));
    em.emit(Or.imm(R1, MAY_HOLD), storeMem(R0, 4, R1, 4));
    em.emit(ja(found));
    em.label(next);
    em.emit(Mov.imm(R0, 0));
  }
  em.emit(ja(done));
  em.label(found);
  ops.appendStage(stageCode("run"), 0, null, {
    ...(woken as object),
    cpuSlot: s.runCpu,
  } as StageTask);
  em.emit(loadMem(R1, R9, Token.flags, 4), JSet.imm(R1, AT_TARGET, done));
  em.emit(loadMem(R2, R9, Token.step, 4), And.imm(R2, 31), loadMem(R1, FP, s.runFlags, 8));
  em.emit(RSh.reg(R1, R2), And.imm(R1, 1), JEq.imm(R1, 0, done));
  ops.reach(false, s.other);
}

/** This CPU's running task and which switch steps its switch-in met (for alreadyRunning). */
export function recordRunning(ops: ChainOps, probe: ProbePlan, steps: EventStep[]): void {
  const { em } = ops;
  const s = ops.slots;
  const index = em.alloc(8);
  em.emit(loadMem(R1, FP, s.cpu, 8), storeMem(FP, index, R1, 8), ldMapFd(R1, ops.maps.running));
  em.emit(Mov.reg(R2, FP), Add.imm(R2, index), call(Helper.map_lookup_elem));
  em.emit(JEq.imm(R0, 0, "exit"));
  loadField(ops.c, R1, probe, "next_pid");
  em.emit(storeMem(R0, 0, R1, 4), Mov.imm(R2, 0));
  for (const { k, flag } of steps) {
    em.emit(loadMem(R1, FP, flag, 8), LSh.imm(R1, k), Or.reg(R2, R1));
  }
  const none = em.fresh("next_holds_none");
  em.emit(loadMem(R1, FP, s.nextHolds, 8), JEq.imm(R1, 0, none), Or.imm(R2, MAY_HOLD));
  em.label(none);
  em.emit(storeMem(R0, 4, R2, 4));
}
