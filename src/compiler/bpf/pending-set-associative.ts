// The set-associative pending table (the default) in the programs: the key's bucket found by
// a multiplicative hash (one inlined array lookup), its WAYS slots scanned for the key or a
// free slot; slots are claimed with cmpxchg on their state word and released with xchg. A
// begin is dropped (counted) only when every slot of its bucket holds another key or is busy.
// User space's side (the mmap-ed sweep) is src/session/live-pending-table.ts.

import { BpfMapFlag, BpfMapType } from "../../kernel/uapi-bpf.ts";
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
  R8,
  R9,
  RSh,
  storeImm,
  storeMem,
  Xor,
  xchg,
} from "./insn.ts";
import { HASH_MULTIPLIER, type SetAssociativeLayout, SlotStatus } from "./layout.ts";
import type { TrackerLayout } from "./object.ts";
import { DROP, EXIT, type PendingTable, Reg, type WriteBegin } from "./pending-table.ts";

// Scratch registers of begin and find (r7–r9, before the body sets them: Reg's contract).
/** The key's bucket (the array value). */
const BUCKET = R9;
/** The state word of the slot being looked at or claimed. */
const STATE = R8;
/** The slot being claimed; `find` leaves it pointing at the slot's value (Reg.pending). */
const SLOT = Reg.pending;
/** The key's first word, compared against each slot's. */
const KEY0 = R3;

export function setAssociativeTable(
  layout: TrackerLayout,
  geometry: SetAssociativeLayout,
): PendingTable {
  return {
    map: {
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: geometry.bucketSize,
      maxEntries: geometry.buckets,
      flags: BpfMapFlag.MMAPABLE,
    },
    whenFull: "the key's bucket is full or busy",
    begin: (em, keyOffset, write) => begin(em, layout, geometry, keyOffset, write),
    find: (em, keyOffset) => ({ at: find(em, layout, geometry, keyOffset) }),
    // free, with the generation the claim kept: r0 = 0, as the winner of the claim
    release(em, found) {
      em.emit(loadMem(R1, FP, found.at, 8), xchg(SLOT, -geometry.value, R1), Mov.imm(R0, 0));
    },
  };
}

function slotAt(d: SetAssociativeLayout, way: number): number {
  return d.firstSlot + way * d.slotSize;
}

/** BUCKET = the key's bucket, KEY0 = the key's first word (exit when the lookup fails: it cannot). */
function findBucket(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  keyOffset: number,
): void {
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
  em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT), Mov.reg(BUCKET, R0));
  em.emit(loadMem(KEY0, FP, keyOffset, 8));
}

/** Jumps to `differ` unless the slot at BUCKET + slot holds the key. */
function compareKey(em: Emitter, slot: number, keyOffset: number, size: number, differ: string) {
  em.emit(loadMem(R1, BUCKET, slot + 8, 8), JNE.reg(R1, KEY0, differ));
  for (let at = 8; at < size; at += 8) {
    em.emit(loadMem(R1, BUCKET, slot + 8 + at, 8), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(JNE.reg(R1, R2, differ));
  }
}

/**
 * Takes the bucket for this begin: seq (r4, read before the scan) even → odd with cmpxchg.
 * It fails when another begin of the bucket changed a slot since the scan, or is doing so:
 * then the scan may be stale (the key added meanwhile), so the begin is dropped. The even
 * value that releases the bucket is kept on the stack at `unlock`.
 */
function lockBucket(em: Emitter, unlock: number): void {
  em.emit(JSet.imm(R4, 1, DROP), Mov.reg(R0, R4), Mov.reg(R1, R4), Add.imm(R1, 1));
  em.emit(cmpxchg(BUCKET, 0, R1), JNE.reg(R0, R4, DROP));
  em.emit(Add.imm(R4, 2), storeMem(FP, unlock, R4, 8));
}

function unlockBucket(em: Emitter, unlock: number): void {
  em.emit(loadMem(R1, FP, unlock, 8), storeMem(BUCKET, 0, R1, 8));
}

/**
 * Begin: scan the bucket for this key (keep first: done; keep last: claim its slot, ready →
 * busy with the next generation) or else the lowest free slot (free → busy, next generation),
 * both under the bucket's seq; then `write` fills the slot's value (SLOT = the slot, STATE =
 * its busy state) and the slot is published ready. No free slot, or a lost race: DROP.
 */
function begin(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  keyOffset: number,
  write: WriteBegin,
): void {
  const unlock = em.alloc(8);
  findBucket(em, layout, d, keyOffset);
  // the seq before the slots: a begin that changes a slot after this read fails our lock
  em.emit(loadMem(R4, BUCKET, 0, 8), Mov.imm(R5, 0));
  // highest way first, so that r5 ends at the lowest free slot
  const scan = (way: number) => (way < 0 ? "scanned" : `way_${way}`);
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(scan(way));
    em.emit(loadMem(STATE, BUCKET, slotAt(d, way), 8));
    em.emit(JSet.imm(STATE, SlotStatus.ready, `own_${way}`));
    em.emit(JSet.imm(STATE, SlotStatus.busy, scan(way - 1)), Mov.imm(R5, slotAt(d, way)));
  }
  em.label("scanned");
  em.emit(JEq.imm(R5, 0, DROP));
  lockBucket(em, unlock);
  // free → busy, next generation: a plain store, as only begins holding the seq touch free
  // slots (ends and the sweep claim ready ones); the xchg below publishes it all
  em.emit(Mov.reg(SLOT, BUCKET), Add.reg(SLOT, R5), loadMem(STATE, SLOT, 0, 8));
  em.emit(Add.imm(STATE, 4 + 1), storeMem(SLOT, 0, STATE, 8));
  for (let at = 0; at < layout.key.size; at += 8) {
    em.emit(loadMem(R1, FP, keyOffset + at, 8), storeMem(SLOT, 8 + at, R1, 8));
  }
  em.label("write_value");
  write(SLOT, d.value);
  em.emit(Mov.reg(R1, STATE), Add.imm(R1, 1), xchg(SLOT, 0, R1));
  unlockBucket(em, unlock);
  em.emit(ja(EXIT));
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(`own_${way}`);
    compareKey(em, slotAt(d, way), keyOffset, layout.key.size, scan(way - 1));
    if (layout.plan.keep === "first") em.emit(ja(EXIT));
    else em.emit(Mov.reg(SLOT, BUCKET), Add.imm(SLOT, slotAt(d, way)), ja("replace"));
  }
  if (layout.plan.keep === "last") replace(em, unlock);
}

/** keep last: ready → busy with the next generation, so that an end holding the old state fails its claim. */
function replace(em: Emitter, unlock: number): void {
  em.label("replace");
  lockBucket(em, unlock);
  em.emit(Mov.reg(R0, STATE), Mov.reg(R1, STATE), Add.imm(R1, 4 - 1), cmpxchg(SLOT, 0, R1));
  em.emit(JNE.reg(R0, STATE, "drop_locked"), Add.imm(STATE, 4 - 1), ja("write_value"));
  em.label("drop_locked");
  unlockBucket(em, unlock);
  em.emit(ja(DROP));
}

/**
 * End: exit unless a slot of the bucket is ready with this key; claim it (ready → busy, same
 * generation) so that no racing end or sweep can take it; leave SLOT = the pending value.
 * Returns where the state that frees the slot is kept on the stack.
 */
function find(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  keyOffset: number,
): number {
  findBucket(em, layout, d, keyOffset);
  const next = (way: number) => (way + 1 < d.ways ? `way_${way + 1}` : EXIT);
  for (let way = 0; way < d.ways; way++) {
    em.label(`way_${way}`);
    em.emit(loadMem(STATE, BUCKET, slotAt(d, way), 8));
    em.emit(JSet.imm(STATE, SlotStatus.ready, `own_${way}`));
  }
  em.emit(ja(EXIT));
  for (let way = 0; way < d.ways; way++) {
    em.label(`own_${way}`);
    compareKey(em, slotAt(d, way), keyOffset, layout.key.size, next(way));
    em.emit(Mov.reg(SLOT, BUCKET), Add.imm(SLOT, slotAt(d, way)));
    if (way + 1 < d.ways) em.emit(ja("found"));
  }
  em.label("found");
  em.emit(Mov.reg(R0, STATE), Mov.reg(R1, STATE), Add.imm(R1, -1), cmpxchg(SLOT, 0, R1));
  em.emit(JNE.reg(R0, STATE, EXIT));
  const released = em.alloc(8);
  em.emit(Add.imm(STATE, -SlotStatus.ready), storeMem(FP, released, STATE, 8));
  em.emit(Add.imm(SLOT, d.value));
  return released;
}
