// The end program of a tracker alternative: filter, key, find the pending begin (most events
// stop here), latency; a late end is a timeout; over the threshold a hit record; release the
// begin (only the CPU that releases it counts the pair); counters, min/max, sum, histogram.

import { writeCaptures } from "./codegen-captures.ts";
import type { Prefetch } from "./codegen-prefetch.ts";
import {
  copy8,
  epilogue,
  increment,
  lookupStats,
  type ProgramContext,
  prologue,
  stackIdInto,
  storeContext,
} from "./codegen-program.ts";
import type { Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
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
  R0,
  R1,
  R2,
  R3,
  R4,
  RSh,
  Sub,
  storeImm,
  storeMem,
  Xor,
} from "./insn.ts";
import {
  Ctx,
  captureLayout,
  Hit,
  HitKind,
  hitCaptures,
  hitRecordSize,
  RINGBUF_REF,
  Stats,
} from "./layout.ts";
import { EXIT, type FoundBegin, Reg } from "./pending-table.ts";
import { submitFlags } from "./ring-wakeup.ts";

const { pending: PENDING, latency: LATENCY, hit: HIT } = Reg;

/** What the parts of an end program need: the prefetch, the key, the found begin. */
interface End {
  c: ProgramContext;
  pre: Prefetch;
  keyOffset: number;
  found: FoundBegin;
  /** Stack offset of the end's captured values; null when the tracker captures none. */
  captured: number | null;
}

export function emitEndBody(c: ProgramContext): void {
  const { em, layout, table } = c;
  const { pre, keyOffset } = prologue(c);
  const plan = layout.plan;
  const endSource = `${c.source(c.side.range)} (end)`;
  const found = em.withSource(endSource, () => {
    const found = table.find(em, keyOffset);
    emitLatency(em);
    return found;
  });
  const captured = writeCaptures(c, pre, "ends");
  const end: End = { c, pre, keyOffset, found, captured };
  if (plan.timeoutNs !== null) emitLateEnd(end, plan.timeoutNs);
  const threshold = plan.thresholdNs;
  if (threshold !== null) {
    em.withSource(`> ${durationText(threshold)} (threshold)`, () => {
      jumpIfLatencyAtMost(em, threshold, "no_hit");
      emitHitRecord(end, "threshold", "pair");
    });
  }
  em.withSource(endSource, () => {
    if (threshold !== null) {
      em.label("no_hit");
      em.emit(Mov.imm(HIT, 0));
    }
    table.release(em, found);
    em.emit(JNE.imm(R0, 0, EXIT));
  });
  em.withSource("pair: counters, min/max, log2 histogram", () => {
    em.label("pair");
    countPair(c);
  });
  epilogue(em);
}

/**
 * For a cancel (or any program that found a begin it does not end): a begin found after its
 * deadline is a timeout, as in replay where trace time expires it first; then EXIT.
 */
export function emitFoundTooLate(
  c: ProgramContext,
  pre: Prefetch,
  keyOffset: number,
  found: FoundBegin,
): void {
  const timeout = c.layout.plan.timeoutNs;
  if (timeout === null) return;
  emitLatency(c.em);
  emitLateEnd({ c, pre, keyOffset, found, captured: null }, timeout);
}

/** LATENCY = now − the begin's timestamp (PENDING = the begin's value). */
function emitLatency(em: Emitter): void {
  em.emit(call(Helper.ktime_get_ns), Mov.reg(LATENCY, R0));
  em.emit(loadMem(R1, PENDING, Ctx.ts, 8), Sub.reg(LATENCY, R1));
  // a begin stored by another CPU after our clock read: count it as 0 ns, not 584 years
  em.emit(JSGE.imm(LATENCY, 0, "latency_ok"), Mov.imm(LATENCY, 0));
  em.label("latency_ok");
}

/** The pair's counters in this CPU's stats value (r0). */
export function countPair(c: ProgramContext): void {
  const em = c.em;
  lookupStats(c);
  increment(em, R0, Stats.pairs);
  em.emit(loadMem(R1, R0, Stats.sum, 8), Add.reg(R1, LATENCY), storeMem(R0, Stats.sum, R1, 8));
  if (c.layout.plan.thresholdNs !== null) {
    em.emit(loadMem(R1, R0, Stats.hits, 8), Mov.reg(R2, HIT), And.imm(R2, 1), Add.reg(R1, R2));
    em.emit(storeMem(R0, Stats.hits, R1, 8));
    addLost(em);
  }
  emitMinMax(em);
  emitHistogram(em);
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

function jumpIfLatencyAtMost(em: Emitter, ns: number, target: string) {
  const limit = BigInt(ns);
  if (limit < 2n ** 31n) em.emit(JLE.imm(LATENCY, Number(limit), target));
  else em.emit(ldImm64(R1, limit), JLE.reg(LATENCY, R1, target));
}

/** lostHits += hit flags >> 1 (r0 = stats value) */
function addLost(em: Emitter) {
  em.emit(loadMem(R1, R0, Stats.lostHits, 8), RSh.imm(HIT, 1), Add.reg(R1, HIT));
  em.emit(storeMem(R0, Stats.lostHits, R1, 8));
}

/**
 * An end after the deadline is a timeout, as in replay where trace time passing the deadline
 * expires the begin before the end is seen: a timeout hit, no pair. This makes the result
 * independent of the user-space sweeper's resolution.
 */
function emitLateEnd(end: End, timeoutNs: number) {
  const em = end.c.em;
  em.withSource(
    `timeout ${durationText(timeoutNs)}: an end after the deadline is a timeout`,
    () => {
      jumpIfLatencyAtMost(em, timeoutNs, "in_time");
      emitHitRecord(end, "timeout", "late_count");
      em.label("late_count");
      lookupStats(end.c);
      increment(em, R0, Stats.timeouts);
      addLost(em);
      em.emit(ja(EXIT));
    },
  );
  em.label("in_time");
}

/**
 * Reserves and fills a hit record, then releases the begin: when the release fails (another
 * end or the sweeper won) the record is discarded; when the ring buffer is full the pair
 * still counts and the hit is counted lost. Leaves HIT = 1 (delivered) or 3 (lost), goes to `next`.
 */
function emitHitRecord(end: End, kind: "threshold" | "timeout", next: string) {
  const { c, found } = end;
  const em = c.em;
  const size = hitRecordSize(c.layout.key.size, captureLayout(c.layout.plan).size);
  em.emit(ldMapFd(R1, RINGBUF_REF), Mov.imm(R2, size), Mov.imm(R3, 0));
  em.emit(call(Helper.ringbuf_reserve), Mov.reg(HIT, R0), JEq.imm(HIT, 0, `${kind}_lost`));
  fillHit(end, kind);
  c.table.release(em, found);
  em.emit(JEq.imm(R0, 0, `${kind}_submit`));
  em.emit(Mov.reg(R1, HIT), Mov.imm(R2, 0), call(Helper.ringbuf_discard), ja(EXIT));
  em.label(`${kind}_submit`);
  const flags = submitFlags(c.side.probe);
  em.emit(Mov.reg(R1, HIT), Mov.imm(R2, flags), call(Helper.ringbuf_submit), Mov.imm(HIT, 1));
  em.emit(ja(next));
  em.withSource("ring buffer full: count the hit as lost", () => {
    em.label(`${kind}_lost`);
    c.table.release(em, found);
    em.emit(JNE.imm(R0, 0, EXIT), Mov.imm(HIT, 3), ja(next));
  });
}

function fillHit({ c, pre, keyOffset, captured }: End, kind: "threshold" | "timeout") {
  const { em, layout } = c;
  em.emit(storeImm(HIT, Hit.tracker, layout.index, 4), storeImm(HIT, Hit.kind, HitKind[kind], 4));
  em.emit(storeMem(HIT, Hit.latency, LATENCY, 8));
  copy8(em, HIT, Hit.begin, PENDING, 0, Ctx.size);
  em.emit(loadMem(R1, PENDING, Ctx.ts, 8), Add.reg(R1, LATENCY));
  em.emit(storeMem(HIT, Hit.end + Ctx.ts, R1, 8));
  storeContext(c, pre, HIT, Hit.end);
  // timeouts show the begin's stack (kept in the pending value), threshold hits the end's
  const beginStack = layout.pending.stackId;
  if (kind === "timeout" && beginStack >= 0) {
    em.emit(loadMem(R1, PENDING, beginStack, 8), storeMem(HIT, Hit.stackId, R1, 8));
  } else if (kind === "threshold" && layout.maps.stacks !== null) {
    stackIdInto(c, HIT, Hit.stackId);
  } else em.emit(storeImm(HIT, Hit.stackId, -1, 8));
  copy8(em, HIT, Hit.key, FP, keyOffset, layout.key.size);
  const pending = layout.pending;
  const from = pending.captures ?? -1;
  if (from < 0) return;
  const size = pending.size - from;
  const at = hitCaptures(layout.key.size, size);
  copy8(em, HIT, at.begin, PENDING, from, size);
  // a timeout has no end event: its slots are zeroed, never read as values
  if (captured !== null && kind === "threshold") copy8(em, HIT, at.end, FP, captured, size);
  else for (let k = 0; k < size; k += 8) em.emit(storeImm(HIT, at.end + k, 0, 8));
}

/** Min is kept inverted so that an untouched (zero) slot never looks like a minimum. */
export function emitMinMax(em: Emitter) {
  const minDone = em.fresh("min_done");
  const maxDone = em.fresh("max_done");
  em.emit(Mov.reg(R1, LATENCY), Xor.imm(R1, -1), loadMem(R2, R0, Stats.minInverted, 8));
  em.emit(JLE.reg(R1, R2, minDone), storeMem(R0, Stats.minInverted, R1, 8));
  em.label(minDone);
  em.emit(loadMem(R2, R0, Stats.max, 8), JLE.reg(LATENCY, R2, maxDone));
  em.emit(storeMem(R0, Stats.max, LATENCY, 8));
  em.label(maxDone);
}

/**
 * Bucket = bit length of (latency - 1), computed branch-free by a binary search whose
 * steps use `-(x >> s) >> 63` (1 when any bit above s is set). Latency 0 wraps to 64 → & 63 = 0.
 */
export function emitHistogram(em: Emitter) {
  em.emit(Mov.reg(R2, LATENCY), Sub.imm(R2, 1), Mov.imm(R3, 0));
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
