// The direct-mapped pending table in the programs: the key's slot found by a multiplicative
// hash (one inlined array lookup), claimed with cmpxchg on its state word, released with
// xchg. A begin whose slot holds another pending key is counted as dropped.

import type { ProgramContext } from "./codegen-side.ts";
import type { Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
  cmpxchg,
  FP,
  JEq,
  JNE,
  ja,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  Mul,
  R0,
  R1,
  R2,
  R7,
  R8,
  RSh,
  storeMem,
  Xor,
  xchg,
} from "./insn.ts";
import { type DirectLayout, HASH_MULTIPLIER, SlotStatus } from "./layout.ts";

export const EXIT = "exit";

function direct(c: ProgramContext): DirectLayout {
  return c.layout.direct!;
}

/** r7 = the key's slot (exit when the lookup fails, which it cannot: the index is masked). */
function findSlot(c: ProgramContext, keyOffset: number): void {
  const { em, layout } = c;
  const d = direct(c);
  em.emit(loadMem(R1, FP, keyOffset, 8));
  for (let at = 8; at < layout.key.size; at += 8) {
    em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(Xor.reg(R1, R2));
  }
  em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), RSh.imm(R1, 64 - d.bits));
  const index = em.alloc(4);
  em.emit(storeMem(FP, index, R1, 4), ldMapFd(R1, layout.maps.pending));
  em.emit(Mov.reg(R2, FP), Add.imm(R2, index), call(Helper.map_lookup_elem));
  em.emit(JEq.imm(R0, 0, EXIT), Mov.reg(R7, R0));
}

/** Jumps to `differ` unless the slot at r7 holds the key. */
function compareKey(em: Emitter, keyOffset: number, keySize: number, differ: string): void {
  for (let at = 0; at < keySize; at += 8) {
    em.emit(loadMem(R1, R7, 8 + at, 8), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(JNE.reg(R1, R2, differ));
  }
}

/**
 * Begin: claim the slot (free → busy with the next generation), or for `keep last` the
 * slot already holding this key; then `writeValue` fills it (r7 = slot, r8 = busy state)
 * and the slot is published ready. A slot busy or holding another key: `drop`.
 */
export function emitDirectBegin(
  c: ProgramContext,
  keyOffset: number,
  writeValue: () => void,
  drop: string,
): void {
  const { em, layout } = c;
  findSlot(c, keyOffset);
  em.emit(loadMem(R8, R7, 0, 8), Mov.reg(R1, R8), And.imm(R1, 3));
  em.emit(JEq.imm(R1, SlotStatus.free, "claim_free"), JNE.imm(R1, SlotStatus.ready, drop));
  compareKey(em, keyOffset, layout.key.size, drop);
  if (layout.plan.keep === "first") em.emit(ja(EXIT));
  else {
    // ready → busy with the next generation: an end holding the old state fails its claim
    em.emit(Mov.reg(R0, R8), Mov.reg(R1, R8), Add.imm(R1, 4 - 1), cmpxchg(R7, 0, R1));
    em.emit(JNE.reg(R0, R8, drop), Add.imm(R8, 4 - 1), ja("write_value"));
  }
  em.label("claim_free");
  em.emit(Mov.reg(R0, R8), Mov.reg(R1, R8), Add.imm(R1, 4 + 1), cmpxchg(R7, 0, R1));
  em.emit(JNE.reg(R0, R8, drop), Add.imm(R8, 4 + 1));
  for (let at = 0; at < layout.key.size; at += 8) {
    em.emit(loadMem(R1, FP, keyOffset + at, 8), storeMem(R7, 8 + at, R1, 8));
  }
  em.label("write_value");
  writeValue();
  em.emit(Mov.reg(R1, R8), Add.imm(R1, 1), xchg(R7, 0, R1), ja(EXIT));
}

/**
 * End: exit unless the slot is ready with this key; claim it (ready → busy, same generation)
 * so that no racing end or sweep can take it; leave r7 = the pending value. The state to
 * release it with is kept on the stack at the returned offset.
 */
export function emitDirectFind(c: ProgramContext, keyOffset: number): number {
  const { em, layout } = c;
  findSlot(c, keyOffset);
  em.emit(loadMem(R8, R7, 0, 8), Mov.reg(R1, R8), And.imm(R1, 3));
  em.emit(JNE.imm(R1, SlotStatus.ready, EXIT));
  compareKey(em, keyOffset, layout.key.size, EXIT);
  em.emit(Mov.reg(R0, R8), Mov.reg(R1, R8), Add.imm(R1, -1), cmpxchg(R7, 0, R1));
  em.emit(JNE.reg(R0, R8, EXIT));
  const released = em.alloc(8);
  em.emit(Add.imm(R8, -SlotStatus.ready), storeMem(FP, released, R8, 8));
  em.emit(Add.imm(R7, direct(c).value));
  return released;
}

/** Frees the claimed slot (r7 = its value); r0 = 0, as after a successful delete. */
export function emitDirectRelease(c: ProgramContext, released: number): void {
  c.em.emit(loadMem(R1, FP, released, 8), xchg(R7, -direct(c).value, R1), Mov.imm(R0, 0));
}
