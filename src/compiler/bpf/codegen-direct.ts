// The set-associative pending table in the programs: the key's bucket found by a
// multiplicative hash (one inlined array lookup), its WAYS slots scanned for the key or a
// free slot; slots are claimed with cmpxchg on their state word and released with xchg. A
// begin is dropped (counted) only when every slot of its bucket holds another key or is busy.

import type { ProgramContext } from "./codegen-side.ts";
import type { Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  call,
  cmpxchg,
  FP,
  JEq,
  JNE,
  JSet,
  ja,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  Mul,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R7,
  R8,
  R9,
  RSh,
  storeImm,
  storeMem,
  Xor,
  xchg,
} from "./insn.ts";
import { type DirectLayout, HASH_MULTIPLIER, SlotStatus } from "./layout.ts";

export const EXIT = "exit";

function direct(c: ProgramContext): DirectLayout {
  return c.layout.direct!;
}

function slotAt(d: DirectLayout, way: number): number {
  return d.firstSlot + way * d.slotSize;
}

/** r9 = the key's bucket, r3 = the key's first word (exit when the lookup fails: it cannot). */
function findBucket(c: ProgramContext, keyOffset: number): void {
  const { em, layout } = c;
  const d = direct(c);
  const index = em.alloc(4);
  if (d.bits === 0) em.emit(storeImm(FP, index, 0, 4));
  else {
    em.emit(loadMem(R1, FP, keyOffset, 8));
    for (let at = 8; at < layout.key.size; at += 8) {
      em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), loadMem(R2, FP, keyOffset + at, 8));
      em.emit(Xor.reg(R1, R2));
    }
    em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), RSh.imm(R1, 64 - d.bits));
    em.emit(storeMem(FP, index, R1, 4));
  }
  em.emit(ldMapFd(R1, layout.maps.pending), Mov.reg(R2, FP), Add.imm(R2, index));
  em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT), Mov.reg(R9, R0));
  em.emit(loadMem(R3, FP, keyOffset, 8));
}

/** Jumps to `differ` unless the slot at r9 + slot holds the key (r3 = its first word). */
function compareKey(em: Emitter, slot: number, keyOffset: number, size: number, differ: string) {
  em.emit(loadMem(R1, R9, slot + 8, 8), JNE.reg(R1, R3, differ));
  for (let at = 8; at < size; at += 8) {
    em.emit(loadMem(R1, R9, slot + 8 + at, 8), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(JNE.reg(R1, R2, differ));
  }
}

/**
 * Takes the bucket for this begin: seq (r4, read before the scan) even → odd with cmpxchg.
 * It fails when another begin of the bucket changed a slot since the scan, or is doing so:
 * then the scan may be stale (the key added meanwhile), so the begin is dropped. The even
 * value that releases the bucket is kept on the stack at `unlock`.
 */
function lockBucket(em: Emitter, unlock: number, drop: string): void {
  em.emit(JSet.imm(R4, 1, drop), Mov.reg(R0, R4), Mov.reg(R1, R4), Add.imm(R1, 1));
  em.emit(cmpxchg(R9, 0, R1), JNE.reg(R0, R4, drop));
  em.emit(Add.imm(R4, 2), storeMem(FP, unlock, R4, 8));
}

function unlockBucket(em: Emitter, unlock: number): void {
  em.emit(loadMem(R1, FP, unlock, 8), storeMem(R9, 0, R1, 8));
}

/**
 * Begin: scan the bucket for this key (keep first: done; keep last: claim its slot, ready →
 * busy with the next generation) or else the lowest free slot (free → busy, next generation),
 * both under the bucket's seq; then `writeValue` fills the slot (r7 = slot, r8 = busy state)
 * and the slot is published ready. No free slot, or a lost race: `drop`.
 */
export function emitDirectBegin(
  c: ProgramContext,
  keyOffset: number,
  writeValue: () => void,
  drop: string,
): void {
  const { em, layout } = c;
  const d = direct(c);
  const unlock = em.alloc(8);
  findBucket(c, keyOffset);
  // the seq before the slots: a begin that changes a slot after this read fails our lock
  em.emit(loadMem(R4, R9, 0, 8), Mov.imm(R5, 0));
  // highest way first, so that r5 ends at the lowest free slot
  const scan = (way: number) => (way < 0 ? "scanned" : `way_${way}`);
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(scan(way));
    em.emit(loadMem(R8, R9, slotAt(d, way), 8), JSet.imm(R8, SlotStatus.ready, `own_${way}`));
    em.emit(JSet.imm(R8, SlotStatus.busy, scan(way - 1)), Mov.imm(R5, slotAt(d, way)));
  }
  em.label("scanned");
  em.emit(JEq.imm(R5, 0, drop));
  lockBucket(em, unlock, drop);
  // free → busy, next generation: a plain store, as only begins holding the seq touch free
  // slots (ends and the sweep claim ready ones); the xchg below publishes it all
  em.emit(Mov.reg(R7, R9), Add.reg(R7, R5), loadMem(R8, R7, 0, 8));
  em.emit(Add.imm(R8, 4 + 1), storeMem(R7, 0, R8, 8));
  for (let at = 0; at < layout.key.size; at += 8) {
    em.emit(loadMem(R1, FP, keyOffset + at, 8), storeMem(R7, 8 + at, R1, 8));
  }
  em.label("write_value");
  writeValue();
  em.emit(Mov.reg(R1, R8), Add.imm(R1, 1), xchg(R7, 0, R1));
  unlockBucket(em, unlock);
  em.emit(ja(EXIT));
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(`own_${way}`);
    compareKey(em, slotAt(d, way), keyOffset, layout.key.size, scan(way - 1));
    if (layout.plan.keep === "first") em.emit(ja(EXIT));
    else em.emit(Mov.reg(R7, R9), Add.imm(R7, slotAt(d, way)), ja("replace"));
  }
  if (layout.plan.keep === "last") {
    // ready → busy with the next generation: an end holding the old state fails its claim
    em.label("replace");
    lockBucket(em, unlock, drop);
    em.emit(Mov.reg(R0, R8), Mov.reg(R1, R8), Add.imm(R1, 4 - 1), cmpxchg(R7, 0, R1));
    em.emit(JNE.reg(R0, R8, "drop_locked"), Add.imm(R8, 4 - 1), ja("write_value"));
    em.label("drop_locked");
    unlockBucket(em, unlock);
    em.emit(ja(drop));
  }
}

/**
 * End: exit unless a slot of the bucket is ready with this key; claim it (ready → busy, same
 * generation) so that no racing end or sweep can take it; leave r7 = the pending value. The
 * state to release it with is kept on the stack at the returned offset.
 */
export function emitDirectFind(c: ProgramContext, keyOffset: number): number {
  const { em, layout } = c;
  const d = direct(c);
  findBucket(c, keyOffset);
  const next = (way: number) => (way + 1 < d.ways ? `way_${way + 1}` : EXIT);
  for (let way = 0; way < d.ways; way++) {
    em.label(`way_${way}`);
    em.emit(loadMem(R8, R9, slotAt(d, way), 8), JSet.imm(R8, SlotStatus.ready, `own_${way}`));
  }
  em.emit(ja(EXIT));
  for (let way = 0; way < d.ways; way++) {
    em.label(`own_${way}`);
    compareKey(em, slotAt(d, way), keyOffset, layout.key.size, next(way));
    em.emit(Mov.reg(R7, R9), Add.imm(R7, slotAt(d, way)));
    if (way + 1 < d.ways) em.emit(ja("found"));
  }
  em.label("found");
  em.emit(Mov.reg(R0, R8), Mov.reg(R1, R8), Add.imm(R1, -1), cmpxchg(R7, 0, R1));
  em.emit(JNE.reg(R0, R8, EXIT));
  const released = em.alloc(8);
  em.emit(Add.imm(R8, -SlotStatus.ready), storeMem(FP, released, R8, 8));
  em.emit(Add.imm(R7, d.value));
  return released;
}

/** Frees the claimed slot (r7 = its value); r0 = 0, as after a successful delete. */
export function emitDirectRelease(c: ProgramContext, released: number): void {
  c.em.emit(loadMem(R1, FP, released, 8), xchg(R7, -direct(c).value, R1), Mov.imm(R0, 0));
}
