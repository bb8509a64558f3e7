// The set-associative pending table (the default) in the programs: the key's bucket found by
// a multiplicative hash (one inlined array lookup), its WAYS slots scanned for the key or a
// free slot; slots are claimed with cmpxchg on their state word, and published or released
// by a plain store (see ownedStore()). In a
// two-level table (layout.ts) the near bucket is scanned first and the far one only when the
// near bucket's `overflow` says a key of it may live there. A begin is dropped (counted) only
// when every slot of its buckets holds another key or is busy. User space's side (the mmap-ed
// sweep) is src/session/live-pending-table.ts.

import { BpfMapFlag, BpfMapType } from "../../kernel/uapi-bpf.ts";
import type { Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  call,
  cmpxchg,
  FP,
  fetchAdd,
  JEq,
  JGE,
  JGT,
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
  R7,
  R8,
  R9,
  RSh,
  Sub,
  storeImm,
  storeMem,
  Xor,
} from "./insn.ts";
import { HASH_MULTIPLIER, type SetAssociativeLayout, SlotStatus } from "./layout.ts";
import type { TrackerLayout } from "./object.ts";
import { DROP, EXIT, type PendingTable, Reg, type WriteBegin } from "./pending-table.ts";

// Scratch registers of begin and find (r7–r9, before the body sets them: Reg's contract).
/** The key's (near) bucket (the array value); `find` moves on to the far bucket in it. */
const BUCKET = R9;
/** The state word of the slot being looked at or claimed. */
const STATE = R8;
/** The slot being claimed; `find` leaves it pointing at the slot's value (Reg.pending). */
const SLOT = Reg.pending;
/** A begin's far bucket, while it scans it (then SLOT: the same register). */
const FAR = R7;
/** The key's first word, compared against each slot's. */
const KEY0 = R3;

/**
 * A busy slot has one owner (the begin that claimed it free, or the end, sweep or replacing
 * begin that claimed it ready): nobody else writes its state word. So the owner publishes it
 * ready, or releases it free, with a plain store, not an atomic exchange:
 * x86 makes stores visible in program order (TSO), so the key and value written before are
 * seen with it, and the loads an end did before its release are done. A weakly ordered CPU
 * would need a store-release here (BPF_STORE_REL, Linux 6.15), as the `seq` check would
 * want a load-acquire (README).
 */
function ownedStore(em: Emitter, slotState: number, state: typeof R1): void {
  em.emit(storeMem(SLOT, slotState, state, 8));
}

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
    locks: {
      ref: lockMapRef(layout),
      spec: { type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 ** geometry.bits },
    },
    whenFull:
      geometry.nearBits > 0
        ? "the key's buckets are full or busy"
        : "the key's bucket is full or busy",
    begin: (em, keyOffset, write) => begin(em, layout, geometry, keyOffset, write),
    find: (em, keyOffset) => ({ at: find(em, layout, geometry, keyOffset) }),
    // free, with the generation the claim kept: r0 = 0, as the winner of the claim
    release(em, found) {
      em.emit(loadMem(R1, FP, found.at, 8));
      ownedStore(em, -geometry.value, R1);
      em.emit(Mov.imm(R0, 0));
    },
  };
}

/** The map of the begins' `seq` words, one per (far) bucket. */
function lockMapRef(layout: TrackerLayout): string {
  return `${layout.plan.name}.locks`;
}

function slotAt(d: SetAssociativeLayout, way: number): number {
  return d.firstSlot + way * d.slotSize;
}

/** Stores the key's hash on the stack (its top bits choose the buckets); returns where. */
function hashKey(em: Emitter, layout: TrackerLayout, keyOffset: number): number {
  const hash = em.alloc(8);
  em.emit(loadMem(R1, FP, keyOffset, 8));
  for (let at = 8; at < layout.key.size; at += 8) {
    em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(Xor.reg(R1, R2));
  }
  em.emit(ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2), storeMem(FP, hash, R1, 8));
  return hash;
}

/**
 * Keeps on the stack at `lockAt` a pointer to the `seq` word of the key's far bucket (a
 * one-level table: of its bucket), in the lock map (exit when the lookup fails: it cannot).
 */
function lookupLock(em: Emitter, layout: TrackerLayout, d: SetAssociativeLayout, hash: number) {
  const index = em.alloc(4);
  const lockAt = em.alloc(8);
  if (d.bits === 0) em.emit(storeImm(FP, index, 0, 4));
  else em.emit(loadMem(R1, FP, hash, 8), RSh.imm(R1, 64 - d.bits), storeMem(FP, index, R1, 4));
  em.emit(ldMapFd(R1, lockMapRef(layout)), Mov.reg(R2, FP), Add.imm(R2, index));
  em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT), storeMem(FP, lockAt, R0, 8));
  return lockAt;
}

/**
 * `into` = the key's near bucket (`far`: its far bucket), KEY0 = the key's first word (exit
 * when the lookup fails: it cannot). A one-level table's only bucket is its "far" one.
 */
function lookupBucket(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  at: { key: number; hash: number },
  level: "near" | "far",
  into: typeof BUCKET | typeof FAR,
): void {
  const index = em.alloc(4);
  const bits = level === "near" ? d.nearBits : d.bits;
  const first = level === "far" && d.nearBits > 0 ? 1 << d.nearBits : 0;
  if (bits === 0) em.emit(storeImm(FP, index, first, 4));
  else {
    em.emit(loadMem(R1, FP, at.hash, 8), RSh.imm(R1, 64 - bits));
    if (first > 0) em.emit(Add.imm(R1, first));
    em.emit(storeMem(FP, index, R1, 4));
  }
  em.emit(ldMapFd(R1, layout.maps.pending), Mov.reg(R2, FP), Add.imm(R2, index));
  em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, EXIT), Mov.reg(into, R0));
  em.emit(loadMem(KEY0, FP, at.key, 8));
}

/** Jumps to `differ` unless the slot at base + slot holds the key (uses r1, r2). */
function compareKey(
  em: Emitter,
  base: typeof BUCKET | typeof FAR,
  slot: number,
  keyOffset: number,
  size: number,
  differ: string,
) {
  em.emit(loadMem(R1, base, slot + 8, 8), JNE.reg(R1, KEY0, differ));
  for (let at = 8; at < size; at += 8) {
    em.emit(loadMem(R1, base, slot + 8 + at, 8), loadMem(R2, FP, keyOffset + at, 8));
    em.emit(JNE.reg(R1, R2, differ));
  }
}

/** Scans of a begin that lost its key's `seq` or its slot to another begin: then it is dropped (counted). */
const BEGIN_TRIES = 4;

/**
 * How long a begin waits for a `seq` that another begin holds before it gives up (a drop,
 * counted): the holder's few dozen instructions, whose stores to lines this CPU has read
 * take a few hundred ns across vCPUs here, or longer when an interrupt or the hypervisor
 * stops its CPU. Without the wait, two CPUs beginning the same keys in step
 * (test/kernel/live-table) dropped one begin in ten in some runs: four scans were over
 * before the holder had published, and the key, pending all along, was counted as dropped.
 * The kernel's own HASH map spins on its bucket lock, unbounded; this wait is bounded by
 * time, and by SEQ_WAIT_READS reads for the verifier, which walks them for each state that
 * enters the wait: only a begin's first try waits (a later one scans again at once, as
 * before). With every try waiting, wakeup.lt's begin program cost the verifier 19,100
 * instructions instead of 4,000 (its load 2 → 11 ms); with the first, 7,600 (4 ms).
 */
const SEQ_WAIT_NS = 4000;
const SEQ_WAIT_READS = 128;

/**
 * Takes the key's `seq` for this begin (r4, read before the scans) even → odd with
 * cmpxchg. It fails when another begin of the same far bucket's keys changed a slot since
 * the scan, or is doing so: then the scan may be stale (the key added meanwhile), so the
 * begin waits for the `seq` to be released and scans again ("wait"). The even value that
 * releases it is kept on the stack at `unlock`. Uses r0–r2.
 */
function lock(em: Emitter, at: { lock: number; unlock: number }): void {
  em.emit(JSet.imm(R4, 1, "wait"), Mov.reg(R0, R4), Mov.reg(R1, R4), Add.imm(R1, 1));
  em.emit(loadMem(R2, FP, at.lock, 8), cmpxchg(R2, 0, R1), JNE.reg(R0, R4, "wait"));
  em.emit(Add.imm(R4, 2), storeMem(FP, at.unlock, R4, 8));
}

/**
 * "wait": on a begin's first try, reads the `seq` until no begin holds it (even), then scans
 * again ("retry"); still held after SEQ_WAIT_NS or SEQ_WAIT_READS reads: DROP. Later tries
 * go straight to "retry". The clock and the reads count on the stack (`at.waited`,
 * `at.reads`): helper calls clobber r1–r5.
 */
function waitForSeq(
  em: Emitter,
  at: { lock: number; tries: number; waited: number; reads: number },
): void {
  const readSeq = (held: string) => {
    em.emit(loadMem(R1, FP, at.lock, 8), loadMem(R2, R1, 0, 8), JSet.imm(R2, 1, held));
    em.emit(ja("retry"));
  };
  em.label("wait");
  em.emit(loadMem(R1, FP, at.tries, 8), JNE.imm(R1, 1, "retry"));
  readSeq("wait_start");
  em.label("wait_start");
  em.emit(call(Helper.ktime_get_ns), storeMem(FP, at.waited, R0, 8), storeImm(FP, at.reads, 0, 8));
  em.label("wait_held");
  em.emit(call(Helper.ktime_get_ns), loadMem(R1, FP, at.waited, 8), Sub.reg(R0, R1));
  em.emit(JGT.imm(R0, SEQ_WAIT_NS, DROP), loadMem(R1, FP, at.reads, 8), Add.imm(R1, 1));
  em.emit(storeMem(FP, at.reads, R1, 8), JGE.imm(R1, SEQ_WAIT_READS, DROP));
  readSeq("wait_held");
}

/** Releases the key's `seq` (uses r1, r2). */
function unlock(em: Emitter, at: { lock: number; unlock: number }): void {
  em.emit(loadMem(R1, FP, at.unlock, 8), loadMem(R2, FP, at.lock, 8), storeMem(R2, 0, R1, 8));
}

/**
 * A begin's scan of one bucket (at `base`) for its key: a ready slot goes to
 * `${level}_own_W` (which compares the key), then on to `${level}_scanned`. It tracks no
 * free slot (pickSlot() does, once the key is known to be new): a register that held the
 * free slot's offset on each path would multiply the verifier's states by the ways.
 */
function scanForBegin(
  em: Emitter,
  d: SetAssociativeLayout,
  level: "near" | "far",
  base: typeof BUCKET | typeof FAR,
): void {
  const scan = (way: number) => (way < 0 ? `${level}_scanned` : `${level}_way_${way}`);
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(scan(way));
    em.emit(loadMem(STATE, base, slotAt(d, way), 8));
    em.emit(JSet.imm(STATE, SlotStatus.ready, `${level}_own_${way}`));
  }
  em.label(`${level}_scanned`);
}

/**
 * Takes the lowest free slot of the bucket at `base` (the key's `seq` held): free → busy with
 * the next generation, by cmpxchg in a near bucket (keys of other far buckets, other `seq`s,
 * share it: a lost claim tries the next way), a plain store elsewhere (only begins holding
 * this `seq` touch its free slots; ends and the sweep claim ready ones). Leaves SLOT = the
 * slot and STATE = its busy state, on to `taken`; no free slot: on to `full`.
 */
function pickSlot(
  em: Emitter,
  d: SetAssociativeLayout,
  level: "near" | "far",
  base: typeof BUCKET | typeof FAR,
  shared: boolean,
  taken: string,
  full: string,
): void {
  const next = (way: number) => (way + 1 < d.ways ? `${level}_pick_${way + 1}` : full);
  for (let way = 0; way < d.ways; way++) {
    const at = slotAt(d, way);
    em.label(`${level}_pick_${way}`);
    em.emit(
      loadMem(STATE, base, at, 8),
      JSet.imm(STATE, SlotStatus.busy | SlotStatus.ready, next(way)),
    );
    em.emit(Mov.reg(R1, STATE), Add.imm(R1, 4 + 1));
    if (shared) em.emit(Mov.reg(R0, STATE), cmpxchg(base, at, R1), JNE.reg(R0, STATE, next(way)));
    else em.emit(storeMem(base, at, R1, 8));
    if (base === BUCKET) em.emit(Mov.reg(SLOT, BUCKET));
    em.emit(Add.imm(SLOT, at), Mov.reg(STATE, R1), ja(taken));
  }
}

/**
 * The `${level}_own_W` targets of a begin's scan: the key's slot found (keep first: done;
 * keep last: SLOT = it, on to "replace"), or back to the scan of the next way.
 */
function ownSlots(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  level: "near" | "far",
  base: typeof BUCKET | typeof FAR,
  keyOffset: number,
): void {
  const scan = (way: number) => (way < 0 ? `${level}_scanned` : `${level}_way_${way}`);
  for (let way = d.ways - 1; way >= 0; way--) {
    em.label(`${level}_own_${way}`);
    compareKey(em, base, slotAt(d, way), keyOffset, layout.key.size, scan(way - 1));
    if (layout.plan.keep === "first") em.emit(ja(EXIT));
    else {
      if (base === BUCKET) em.emit(Mov.reg(SLOT, BUCKET));
      em.emit(Add.imm(SLOT, slotAt(d, way)), ja("replace"));
    }
  }
}

/**
 * Begin: scan the key's bucket for it (a two-level table: the near bucket, and the far one
 * when the near one's `overflow` is not 0): keep first: done; keep last: claim its slot,
 * ready → busy with the next generation. A new key takes its `seq`, then the lowest free slot
 * of its near bucket, else of its far bucket (counted in `overflow` before it is published);
 * `write` fills the slot's value (SLOT = the slot, STATE = its busy state) and the slot is
 * published ready. A begin that loses its `seq` to another begin scans again, up to
 * BEGIN_TRIES times. No free slot, or every try lost: DROP.
 */
function begin(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  keyOffset: number,
  write: WriteBegin,
): void {
  const tries = em.alloc(8);
  const at = { key: keyOffset, hash: hashKey(em, layout, keyOffset) };
  const held = { lock: lookupLock(em, layout, d, at.hash), unlock: em.alloc(8) };
  const twoLevels = d.nearBits > 0;
  lookupBucket(em, layout, d, at, twoLevels ? "near" : "far", BUCKET);
  em.emit(storeImm(FP, tries, 1, 8));
  em.label("scan");
  // the seq before the slots: a begin that changes a slot after this read fails our lock
  em.emit(loadMem(R1, FP, held.lock, 8), loadMem(R4, R1, 0, 8));
  scanForBegin(em, d, "near", BUCKET);
  if (twoLevels) {
    // a key of this near bucket may live far: look there too
    em.emit(loadMem(R1, BUCKET, d.overflow, 8), JEq.imm(R1, 0, "new_key"));
    const seq = em.alloc(8);
    em.emit(storeMem(FP, seq, R4, 8));
    lookupBucket(em, layout, d, at, "far", FAR);
    em.emit(loadMem(R4, FP, seq, 8));
    scanForBegin(em, d, "far", FAR);
  }
  em.label("new_key");
  lock(em, held);
  pickSlot(em, d, "near", BUCKET, twoLevels, "taken", twoLevels ? "near_full" : "none_free");
  if (twoLevels) {
    // the near bucket is full: the far one, counted far before anyone can see it
    em.label("near_full");
    lookupBucket(em, layout, d, at, "far", FAR);
    pickSlot(em, d, "far", FAR, false, "taken_far", "none_free");
    em.label("taken_far");
    em.emit(Mov.imm(R1, 1), fetchAdd(BUCKET, d.overflow, R1), ja("taken"));
  }
  em.label("none_free");
  unlock(em, held);
  em.emit(ja(DROP));
  em.label("taken");
  for (let at = 0; at < layout.key.size; at += 8) {
    em.emit(loadMem(R1, FP, keyOffset + at, 8), storeMem(SLOT, 8 + at, R1, 8));
  }
  em.label("write_value");
  write(SLOT, d.value);
  em.emit(Mov.reg(R1, STATE), Add.imm(R1, 1));
  ownedStore(em, 0, R1);
  unlock(em, held);
  em.emit(ja(EXIT));
  ownSlots(em, layout, d, "near", BUCKET, keyOffset);
  if (twoLevels) ownSlots(em, layout, d, "far", FAR, keyOffset);
  if (layout.plan.keep === "last") replace(em, held);
  waitForSeq(em, { lock: held.lock, tries, waited: em.alloc(8), reads: em.alloc(8) });
  // another begin took or changed this key's seq since the scan: scan again (a bounded loop)
  em.label("retry");
  em.emit(loadMem(R1, FP, tries, 8), JGE.imm(R1, BEGIN_TRIES, DROP));
  em.emit(Add.imm(R1, 1), storeMem(FP, tries, R1, 8), loadMem(KEY0, FP, keyOffset, 8), ja("scan"));
}

/**
 * keep last: ready → busy with the next generation, so that an end holding the old state
 * fails its claim; an end or the sweep that took the slot first: scan again.
 */
function replace(em: Emitter, held: { lock: number; unlock: number }): void {
  em.label("replace");
  lock(em, held);
  em.emit(Mov.reg(R0, STATE), Mov.reg(R1, STATE), Add.imm(R1, 4 - 1), cmpxchg(SLOT, 0, R1));
  em.emit(JNE.reg(R0, STATE, "lost_slot"), Add.imm(STATE, 4 - 1), ja("write_value"));
  em.label("lost_slot");
  unlock(em, held);
  em.emit(ja("retry"));
}

/** An end's scan of the bucket in BUCKET for a ready slot: to `${level}_own_W`, else on to `after`. */
function scanForEnd(em: Emitter, d: SetAssociativeLayout, level: "near" | "far", after: string) {
  for (let way = 0; way < d.ways; way++) {
    em.label(`${level}_way_${way}`);
    em.emit(loadMem(STATE, BUCKET, slotAt(d, way), 8));
    em.emit(JSet.imm(STATE, SlotStatus.ready, `${level}_own_${way}`));
  }
  em.emit(ja(after));
}

/**
 * The `${level}_own_W` targets of an end's scan: the key's slot (SLOT = it) to `found`, which
 * follows them when `foundNext`.
 */
function foundSlots(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  level: "near" | "far",
  keyOffset: number,
  found: string,
  after: string,
  foundNext: boolean,
): void {
  const next = (way: number) => (way + 1 < d.ways ? `${level}_way_${way + 1}` : after);
  for (let way = 0; way < d.ways; way++) {
    em.label(`${level}_own_${way}`);
    compareKey(em, BUCKET, slotAt(d, way), keyOffset, layout.key.size, next(way));
    em.emit(Mov.reg(SLOT, BUCKET), Add.imm(SLOT, slotAt(d, way)));
    if (way + 1 < d.ways || !foundNext) em.emit(ja(found));
  }
}

/** Claims the slot in SLOT whose ready state is STATE: ready → busy, same generation; exit when another wins it. */
function claim(em: Emitter): void {
  em.emit(Mov.reg(R0, STATE), Mov.reg(R1, STATE), Add.imm(R1, -1), cmpxchg(SLOT, 0, R1));
  em.emit(JNE.reg(R0, STATE, EXIT));
}

/**
 * End: exit unless a slot of the key's bucket (a two-level table: its near bucket, then its
 * far one when `overflow` is not 0) is ready with this key; claim it (ready → busy, same
 * generation) so that no racing end or sweep can take it (a far slot: `overflow` down by one);
 * leave SLOT = the pending value. Returns where the state that frees the slot is kept on the stack.
 */
function find(
  em: Emitter,
  layout: TrackerLayout,
  d: SetAssociativeLayout,
  keyOffset: number,
): number {
  const at = { key: keyOffset, hash: hashKey(em, layout, keyOffset) };
  const twoLevels = d.nearBits > 0;
  lookupBucket(em, layout, d, at, twoLevels ? "near" : "far", BUCKET);
  scanForEnd(em, d, "near", twoLevels ? "near_missed" : EXIT);
  foundSlots(
    em,
    layout,
    d,
    "near",
    keyOffset,
    "found",
    twoLevels ? "near_missed" : EXIT,
    !twoLevels,
  );
  if (twoLevels) {
    const near = em.alloc(8);
    em.label("near_missed");
    em.emit(loadMem(R1, BUCKET, d.overflow, 8), JEq.imm(R1, 0, EXIT));
    em.emit(storeMem(FP, near, BUCKET, 8));
    lookupBucket(em, layout, d, at, "far", BUCKET);
    scanForEnd(em, d, "far", EXIT);
    foundSlots(em, layout, d, "far", keyOffset, "found_far", EXIT, true);
    em.label("found_far");
    claim(em);
    em.emit(loadMem(R1, FP, near, 8), Mov.imm(R2, -1), fetchAdd(R1, d.overflow, R2), ja("claimed"));
  }
  em.label("found");
  claim(em);
  em.label("claimed");
  const released = em.alloc(8);
  em.emit(Add.imm(STATE, -SlotStatus.ready), storeMem(FP, released, STATE, 8));
  em.emit(Add.imm(SLOT, d.value));
  return released;
}
