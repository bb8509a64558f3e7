// The bodies of the begin and end programs of one tracker alternative. Begin: filter, key,
// record the begin in the pending map (count a drop when full). End: filter, key, look up,
// delete (the delete decides a race with the timeout sweeper), histogram, hit record.

import type { SourceRange } from "../diagnostic.ts";
import type { ProbeSide } from "../plan.ts";
import type { TrackerLayout } from "./codegen.ts";
import { emitDirectBegin, emitDirectFind, emitDirectRelease } from "./codegen-direct.ts";
import { branch, buildKey } from "./codegen-expr.ts";
import { SideState } from "./codegen-state.ts";
import { chunks } from "./codegen-string.ts";
import type { Emitter } from "./emitter.ts";
import { BPF_ANY, BPF_NOEXIST, EEXIST, Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
  exit,
  FP,
  JEq,
  JLE,
  JNE,
  JSGE,
  ja,
  LSh,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  neg,
  Or,
  R0,
  R1,
  R2,
  R3,
  R4,
  R6,
  R7,
  R8,
  R9,
  type Register,
  RSh,
  Sub,
  storeImm,
  storeMem,
  Xor,
} from "./insn.ts";
import {
  Ctx,
  Hit,
  HitKind,
  hitRecordSize,
  RINGBUF_REF,
  Stats,
  type TaskOffsets,
} from "./layout.ts";

export interface ProgramContext {
  em: Emitter;
  layout: TrackerLayout;
  side: ProbeSide;
  alternative: number;
  source: (range: SourceRange) => string;
  /** task_struct offsets from BTF; without them the context comes from helpers. */
  task?: TaskOffsets;
  /** End programs on a direct table: where the claimed slot's release state is kept. */
  released?: number;
}

const EXIT = "exit";

/** r6 = ctx; the filter (jumps to exit when false); the key at the returned stack offset. */
function prologue(c: ProgramContext): { s: SideState; keyOffset: number } {
  const { em, side, layout } = c;
  const s = new SideState(em);
  em.source = c.source(side.range);
  em.emit(Mov.reg(R6, R1));
  if (side.filter) {
    const filter = side.filter;
    em.withSource(c.source(filter.range), () => {
      s.fetch([filter]);
      branch(s, filter, EXIT, false);
    });
  }
  const keyOffset = em.alloc(layout.key.size);
  const keyRange = side.key.length > 0 ? spanning(side.key.map((k) => k.range)) : side.range;
  em.withSource(`${c.source(keyRange)} (key)`, () => {
    s.fetch(side.key);
    buildKey(s, side.key, layout.plan.keyTypes, layout.key, keyOffset);
  });
  return { s, keyOffset };
}

function spanning(ranges: SourceRange[]): SourceRange {
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  return { ...first, endLine: last.endLine, endCol: last.endCol, endOffset: last.endOffset };
}

function epilogue(em: Emitter): void {
  em.source = undefined;
  em.label(EXIT);
  em.emit(Mov.imm(R0, 0), exit());
}

/** r0 = this tracker's per-CPU stats value, or exit when the lookup fails (it cannot). */
function lookupStats(c: ProgramContext): void {
  const zero = c.em.alloc(4);
  c.em.emit(storeImm(FP, zero, 0, 4), ldMapFd(R1, c.layout.maps.stats));
  c.em.emit(Mov.reg(R2, FP), Add.imm(R2, zero), call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT));
}

/** *(u64 *)(base + off) += 1 */
function increment(em: Emitter, base: Register, off: number): void {
  em.emit(loadMem(R1, base, off, 8), Add.imm(R1, 1), storeMem(base, off, R1, 8));
}

/** Copies `size` bytes (a multiple of 8) between 8-aligned places. */
function copy8(
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
function storeContext(c: ProgramContext, s: SideState, base: Register, at: number) {
  const em = c.em;
  em.emit(call(Helper.get_smp_processor_id), storeMem(base, at + Ctx.cpu, R0, 4));
  em.emit(storeImm(base, at + Ctx.probe, c.alternative, 4));
  const pidTgid = s.slots.get("pidTgid");
  const comm = s.slots.get("comm");
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

function stackIdInto(c: ProgramContext, base: Register, off: number) {
  const stacks = c.layout.maps.stacks!;
  c.em.emit(Mov.reg(R1, R6), ldMapFd(R2, stacks), Mov.imm(R3, 0), call(Helper.get_stackid));
  c.em.emit(storeMem(base, off, R0, 8));
}

export function emitBeginBody(c: ProgramContext): void {
  const { em, layout } = c;
  const { s, keyOffset } = prologue(c);
  const pending = layout.pending;
  em.source = `${c.source(c.side.range)} (begin)`;
  if (layout.direct !== null) {
    const at = layout.direct.value;
    emitDirectBegin(
      c,
      keyOffset,
      () => {
        if (pending.withContext) storeContext(c, s, R7, at);
        if (pending.stackId >= 0) stackIdInto(c, R7, at + pending.stackId);
        em.emit(call(Helper.ktime_get_ns), storeMem(R7, at + Ctx.ts, R0, 8));
      },
      "drop",
    );
    em.source = `capacity ${layout.plan.capacity}: the key's bucket is full or busy, count a drop`;
    em.label("drop");
    lookupStats(c);
    increment(em, R0, Stats.dropped);
    epilogue(em);
    return;
  }
  const value = em.alloc(pending.size);
  if (pending.withContext) storeContext(c, s, FP, value);
  if (pending.stackId >= 0) stackIdInto(c, FP, value + pending.stackId);
  em.emit(call(Helper.ktime_get_ns), storeMem(FP, value + Ctx.ts, R0, 8));
  const keepFirst = layout.plan.keep === "first";
  em.emit(ldMapFd(R1, layout.maps.pending), Mov.reg(R2, FP), Add.imm(R2, keyOffset));
  em.emit(Mov.reg(R3, FP), Add.imm(R3, value), Mov.imm(R4, keepFirst ? BPF_NOEXIST : BPF_ANY));
  em.emit(call(Helper.map_update_elem), JEq.imm(R0, 0, EXIT));
  if (keepFirst) em.emit(JEq.imm(R0, -EEXIST, EXIT));
  em.source = `capacity ${layout.plan.capacity}: table full, count a drop`;
  lookupStats(c);
  increment(em, R0, Stats.dropped);
  epilogue(em);
}

/**
 * End: r7 = pending value, r8 = latency, r9 = hit flags (bit 0 hit, bit 1 hit record lost).
 * Only the CPU whose delete succeeds counts the pair: a racing end or the sweeper loses.
 */
export function emitEndBody(c: ProgramContext): void {
  const { em, layout } = c;
  const { s, keyOffset } = prologue(c);
  const plan = layout.plan;
  em.source = `${c.source(c.side.range)} (end)`;
  if (layout.direct !== null) c.released = emitDirectFind(c, keyOffset);
  else {
    em.emit(ldMapFd(R1, layout.maps.pending), Mov.reg(R2, FP), Add.imm(R2, keyOffset));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT), Mov.reg(R7, R0));
  }
  em.emit(call(Helper.ktime_get_ns), Mov.reg(R8, R0), loadMem(R1, R7, Ctx.ts, 8), Sub.reg(R8, R1));
  // a begin stored by another CPU after our clock read: count it as 0 ns, not 584 years
  em.emit(JSGE.imm(R8, 0, "latency_ok"), Mov.imm(R8, 0));
  em.label("latency_ok");
  if (plan.timeoutNs !== null) emitLateEnd(c, s, keyOffset, plan.timeoutNs);
  if (plan.thresholdNs !== null) {
    em.source = `> ${durationText(plan.thresholdNs)} (threshold)`;
    jumpIfLatencyAtMost(em, plan.thresholdNs, "no_hit");
    emitHitRecord(c, s, keyOffset, "threshold", "pair");
    em.label("no_hit");
    em.source = `${c.source(c.side.range)} (end)`;
    em.emit(Mov.imm(R9, 0));
  }
  deleteBegin(c, keyOffset);
  em.emit(JNE.imm(R0, 0, EXIT));
  em.label("pair");
  em.source = "pair: counters, min/max, log2 histogram";
  lookupStats(c);
  increment(em, R0, Stats.pairs);
  if (plan.thresholdNs !== null) {
    em.emit(loadMem(R1, R0, Stats.hits, 8), Mov.reg(R2, R9), And.imm(R2, 1), Add.reg(R1, R2));
    em.emit(storeMem(R0, Stats.hits, R1, 8));
    addLost(em);
  }
  emitMinMax(em);
  emitHistogram(em);
  epilogue(em);
}

/** 200000 → "200us": the largest unit that divides exactly, as a user would write it. */
function durationText(ns: number): string {
  for (const [unit, scale] of [
    ["s", 1e9],
    ["ms", 1e6],
    ["us", 1e3],
  ] as const) {
    if (ns % scale === 0) return `${ns / scale}${unit}`;
  }
  return `${ns}ns`;
}

/** Removes the pending begin; r0 = 0 when this CPU removed it (it won any race). */
function deleteBegin(c: ProgramContext, keyOffset: number) {
  if (c.released !== undefined) {
    emitDirectRelease(c, c.released);
    return;
  }
  c.em.emit(ldMapFd(R1, c.layout.maps.pending), Mov.reg(R2, FP), Add.imm(R2, keyOffset));
  c.em.emit(call(Helper.map_delete_elem));
}

function jumpIfLatencyAtMost(em: Emitter, ns: number, target: string) {
  const limit = BigInt(ns);
  if (limit < 2n ** 31n) em.emit(JLE.imm(R8, Number(limit), target));
  else em.emit(ldImm64(R1, limit), JLE.reg(R8, R1, target));
}

/** lostHits += r9 >> 1 (r0 = stats value) */
function addLost(em: Emitter) {
  em.emit(loadMem(R1, R0, Stats.lostHits, 8), RSh.imm(R9, 1), Add.reg(R1, R9));
  em.emit(storeMem(R0, Stats.lostHits, R1, 8));
}

/**
 * An end after the deadline is a timeout, as in replay where trace time passing the deadline
 * expires the begin before the end is seen: a timeout hit, no pair. This makes the result
 * independent of the user-space sweeper's resolution.
 */
function emitLateEnd(c: ProgramContext, s: SideState, keyOffset: number, timeoutNs: number) {
  const em = c.em;
  em.source = `timeout ${durationText(timeoutNs)}: an end after the deadline is a timeout`;
  jumpIfLatencyAtMost(em, timeoutNs, "in_time");
  emitHitRecord(c, s, keyOffset, "timeout", "late_count");
  em.label("late_count");
  lookupStats(c);
  increment(em, R0, Stats.timeouts);
  addLost(em);
  em.emit(ja(EXIT));
  em.label("in_time");
}

/**
 * Reserves and fills a hit record, then deletes the begin: when the delete fails (another
 * end or the sweeper won) the record is discarded; when the ring buffer is full the pair
 * still counts and the hit is counted lost. Leaves r9 = 1 (delivered) or 3 (lost), goes to `next`.
 */
function emitHitRecord(
  c: ProgramContext,
  s: SideState,
  keyOffset: number,
  kind: "threshold" | "timeout",
  next: string,
) {
  const em = c.em;
  const size = hitRecordSize(c.layout.key.size);
  em.emit(ldMapFd(R1, RINGBUF_REF), Mov.imm(R2, size), Mov.imm(R3, 0));
  em.emit(call(Helper.ringbuf_reserve), Mov.reg(R9, R0), JEq.imm(R9, 0, `${kind}_lost`));
  fillHit(c, s, keyOffset, kind);
  deleteBegin(c, keyOffset);
  em.emit(JEq.imm(R0, 0, `${kind}_submit`));
  em.emit(Mov.reg(R1, R9), Mov.imm(R2, 0), call(Helper.ringbuf_discard), ja(EXIT));
  em.label(`${kind}_submit`);
  em.emit(Mov.reg(R1, R9), Mov.imm(R2, 0), call(Helper.ringbuf_submit), Mov.imm(R9, 1), ja(next));
  const saved = em.source;
  em.source = "ring buffer full: count the hit as lost";
  em.label(`${kind}_lost`);
  deleteBegin(c, keyOffset);
  em.emit(JNE.imm(R0, 0, EXIT), Mov.imm(R9, 3), ja(next));
  em.source = saved;
}

function fillHit(
  c: ProgramContext,
  s: SideState,
  keyOffset: number,
  kind: "threshold" | "timeout",
) {
  const { em, layout } = c;
  em.emit(storeImm(R9, Hit.tracker, layout.index, 4), storeImm(R9, Hit.kind, HitKind[kind], 4));
  em.emit(storeMem(R9, Hit.latency, R8, 8));
  copy8(em, R9, Hit.begin, R7, 0, Ctx.size);
  em.emit(loadMem(R1, R7, Ctx.ts, 8), Add.reg(R1, R8), storeMem(R9, Hit.end + Ctx.ts, R1, 8));
  storeContext(c, s, R9, Hit.end);
  // timeouts show the begin's stack (kept in the pending value), threshold hits the end's
  const beginStack = layout.pending.stackId;
  if (kind === "timeout" && beginStack >= 0) {
    em.emit(loadMem(R1, R7, beginStack, 8), storeMem(R9, Hit.stackId, R1, 8));
  } else if (kind === "threshold" && layout.maps.stacks !== null) stackIdInto(c, R9, Hit.stackId);
  else em.emit(storeImm(R9, Hit.stackId, -1, 8));
  copy8(em, R9, Hit.key, FP, keyOffset, layout.key.size);
}

/** Min is kept inverted so that an untouched (zero) slot never looks like a minimum. */
function emitMinMax(em: Emitter) {
  em.emit(Mov.reg(R1, R8), Xor.imm(R1, -1), loadMem(R2, R0, Stats.minInverted, 8));
  em.emit(JLE.reg(R1, R2, "min_done"), storeMem(R0, Stats.minInverted, R1, 8));
  em.label("min_done");
  em.emit(
    loadMem(R2, R0, Stats.max, 8),
    JLE.reg(R8, R2, "max_done"),
    storeMem(R0, Stats.max, R8, 8),
  );
  em.label("max_done");
}

/**
 * Bucket = bit length of (latency - 1), computed branch-free by a binary search whose
 * steps use `-(x >> s) >> 63` (1 when any bit above s is set). Latency 0 wraps to 64 → & 63 = 0.
 */
function emitHistogram(em: Emitter) {
  em.emit(Mov.reg(R2, R8), Sub.imm(R2, 1), Mov.imm(R3, 0));
  for (const [shift, log] of [
    [32, 5],
    [16, 4],
    [8, 3],
    [4, 2],
    [2, 1],
    [1, 0],
  ]) {
    em.emit(Mov.reg(R4, R2), RSh.imm(R4, shift), neg(R4), RSh.imm(R4, 63));
    if (log > 0) em.emit(LSh.imm(R4, log));
    em.emit(RSh.reg(R2, R4), Add.reg(R3, R4));
  }
  em.emit(Add.reg(R3, R2), And.imm(R3, 63), LSh.imm(R3, 3), Add.reg(R0, R3));
  increment(em, R0, Stats.hist);
}
