// What the begin and end programs of a tracker share: the context they are generated in,
// the prologue (context register, filter, key) and epilogue, the per-CPU stats value, and
// the event context (pid/tid, cpu, probe, comm) stored into a pending value or a hit record.

import type { SourceRange } from "../diagnostic.ts";
import type { ProbeSide, UserProbeSitePlan } from "../plan.ts";
import { branch, buildKey } from "./codegen-expr.ts";
import { Prefetch } from "./codegen-prefetch.ts";
import { chunks } from "./codegen-string.ts";
import type { Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  call,
  exit,
  FP,
  JEq,
  LSh,
  ldMapFd,
  loadMem,
  Mov,
  Or,
  R0,
  R1,
  R2,
  R3,
  type Register,
  storeImm,
  storeMem,
} from "./insn.ts";
import { Ctx, type TaskOffsets } from "./layout.ts";
import type { TrackerLayout } from "./object.ts";
import { EXIT, type PendingTable, Reg } from "./pending-table.ts";

/** One program being generated: a begin or end alternative of a tracker. */
export interface ProgramContext {
  em: Emitter;
  layout: TrackerLayout;
  /** Where the tracker's pending begins live. */
  table: PendingTable;
  side: ProbeSide;
  alternative: number;
  /** The site of a user-space probe this program is for (R1 is then struct pt_regs). */
  site?: UserProbeSitePlan;
  /** The `.lt` text of a range, as the listing annotates instructions with it. */
  source: (range: SourceRange) => string;
  /** task_struct offsets from BTF; without them the context comes from helpers. */
  task?: TaskOffsets;
}

/** Reg.ctx = the probe's context; the filter (exit when false); the key on the stack. */
export function prologue(c: ProgramContext): { pre: Prefetch; keyOffset: number } {
  const { em, side, layout } = c;
  const pre = new Prefetch(em, c.site, c.task);
  em.withSource(c.source(side.range), () => em.emit(Mov.reg(Reg.ctx, R1)));
  if (side.filter) {
    const filter = side.filter;
    em.withSource(c.source(filter.range), () => {
      pre.fetch([filter]);
      branch(pre, filter, EXIT, false);
    });
  }
  const keyOffset = em.alloc(layout.key.size);
  const keyRange = side.key.length > 0 ? spanning(side.key.map((k) => k.range)) : side.range;
  em.withSource(`${c.source(keyRange)} (key)`, () => {
    pre.fetch(side.key);
    buildKey(pre, side.key, layout.plan.keyTypes, layout.key, keyOffset);
  });
  return { pre, keyOffset };
}

function spanning(ranges: SourceRange[]): SourceRange {
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  return { ...first, endLine: last.endLine, endCol: last.endCol, endOffset: last.endOffset };
}

export function epilogue(em: Emitter): void {
  em.label(EXIT);
  em.emit(Mov.imm(R0, 0), exit());
}

/** r0 = this tracker's per-CPU stats value, or exit when the lookup fails (it cannot). */
export function lookupStats(c: ProgramContext): void {
  const zero = c.em.alloc(4);
  c.em.emit(storeImm(FP, zero, 0, 4), ldMapFd(R1, c.layout.maps.stats));
  c.em.emit(Mov.reg(R2, FP), Add.imm(R2, zero), call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT));
}

/** *(u64 *)(base + off) += 1 */
export function increment(em: Emitter, base: Register, off: number): void {
  em.emit(loadMem(R1, base, off, 8), Add.imm(R1, 1), storeMem(base, off, R1, 8));
}

/** Copies `size` bytes (a multiple of 8) between 8-aligned places. */
export function copy8(
  em: Emitter,
  dst: Register,
  dstOff: number,
  src: Register,
  srcOff: number,
  size: number,
) {
  for (let k = 0; k < size; k += 8) {
    em.emit(loadMem(R1, src, srcOff + k, 8), storeMem(dst, dstOff + k, R1, 8));
  }
}

/** The context of the current event (pid/tid, cpu, probe, comm; ts is the caller's) at base+at. */
export function storeContext(c: ProgramContext, pre: Prefetch, base: Register, at: number) {
  const em = c.em;
  em.emit(call(Helper.get_smp_processor_id), storeMem(base, at + Ctx.cpu, R0, 4));
  em.emit(storeImm(base, at + Ctx.probe, c.alternative, 4));
  const pidTgid = pre.slots.get("pidTgid");
  const comm = pre.slots.get("comm");
  if (c.task && (pidTgid === undefined || comm === undefined)) {
    storeTaskContext(em, c.task, base, at, pidTgid === undefined, comm === undefined);
  }
  if (pidTgid !== undefined)
    em.emit(loadMem(R1, FP, pidTgid, 8), storeMem(base, at + Ctx.pidTgid, R1, 8));
  else if (!c.task)
    em.emit(call(Helper.get_current_pid_tgid), storeMem(base, at + Ctx.pidTgid, R0, 8));
  if (comm !== undefined) copy8(em, base, at + Ctx.comm, FP, comm, 16);
  else if (!c.task) {
    em.emit(Mov.reg(R1, base), Add.imm(R1, at + Ctx.comm), Mov.imm(R2, 16));
    em.emit(call(Helper.get_current_comm));
  }
}

/**
 * pid_tgid and comm read from the current task_struct (offsets from BTF): one cheap call
 * and a few loads instead of get_current_pid_tgid and get_current_comm.
 */
function storeTaskContext(
  em: Emitter,
  task: TaskOffsets,
  base: Register,
  at: number,
  withPid: boolean,
  withComm: boolean,
) {
  em.emit(call(Helper.get_current_task_btf));
  if (withPid) {
    em.emit(loadMem(R1, R0, task.tgid, 4), LSh.imm(R1, 32), loadMem(R2, R0, task.pid, 4));
    em.emit(Or.reg(R1, R2), storeMem(base, at + Ctx.pidTgid, R1, 8));
  }
  if (withComm) {
    for (const chunk of chunks([task.comm, at + Ctx.comm], 16)) {
      em.emit(loadMem(R1, R0, task.comm + chunk.at, chunk.size));
      em.emit(storeMem(base, at + Ctx.comm + chunk.at, R1, chunk.size));
    }
  }
}

/** The current kernel stack's id (get_stackid into the tracker's stack map) at base+off. */
export function stackIdInto(c: ProgramContext, base: Register, off: number) {
  const stacks = c.layout.maps.stacks!;
  c.em.emit(Mov.reg(R1, Reg.ctx), ldMapFd(R2, stacks), Mov.imm(R3, 0), call(Helper.get_stackid));
  c.em.emit(storeMem(base, off, R0, 8));
}
