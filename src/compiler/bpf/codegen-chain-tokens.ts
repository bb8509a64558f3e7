// A chain tracker's token table (holder → token) in the programs: set-associative slots in
// two mmap-able ARRAYs (chain-layout.ts tokenTableLayout), the holders' bucket found by a
// multiplicative hash and scanned for the key. A lookup is two inlined array lookups; a
// removal one cmpxchg (holder → 0); a put takes the bucket's seq (even → odd by cmpxchg, as
// the pending table's begins), writes the token in its slot and publishes the holder. No
// bucket lock with interrupts off, no allocation: a HASH map's update or delete cost ~25 ns
// here. User space's side (the sweep) is src/session/live-chain-table.ts.

import { BPF_MAX_STAGES, Stage, Token, TokenHolders } from "./chain-layout.ts";
import type { Emitter } from "./emitter.ts";
import { EEXIST, Helper } from "./helpers.ts";
import {
  Add,
  call,
  cmpxchg,
  FP,
  JEq,
  JGE,
  JNE,
  JSet,
  ja,
  LSh,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  Mul,
  Or,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  type Register,
  RSh,
  Sub,
  storeMem,
} from "./insn.ts";
import { HASH_MULTIPLIER, type TokenTableLayout } from "./layout.ts";

/** ENOSPC: a put found its bucket full, or another put adding to it (counted as dropped). */
export const ENOSPC = 28;

/** The token table's operations; each clobbers r0–r5 only. Keys are u64 holders on the stack. */
export class TokenSlots {
  /** Stack slots: the bucket, the seq read before a put's scan, the holders' bucket, the way, the slot. */
  private readonly bucket: number;
  private readonly seq: number;
  private readonly holders: number;
  private readonly way: number;
  private readonly slot: number;
  /** The token a put placed (a spilled pointer). */
  private readonly placedAt: number;
  /** The ways a put's scan found holding a key (the bucket's mayHold mask, exact). */
  private readonly mask: number;

  constructor(
    private readonly em: Emitter,
    private readonly maps: { holders: string; tokens: string },
    private readonly table: TokenTableLayout,
  ) {
    this.bucket = em.alloc(8);
    this.seq = em.alloc(8);
    this.holders = em.alloc(8);
    this.way = em.alloc(8);
    this.slot = em.alloc(8);
    this.placedAt = em.alloc(8);
    this.mask = em.alloc(8);
  }

  /** r0 = the token the last successful put placed (call only where it succeeded). */
  placed(): void {
    this.em.emit(loadMem(R0, FP, this.placedAt, 8));
  }

  /** r4 = the holders' bucket of the key at fp + at, r3 = the key; jump to `none` if the lookup fails (it cannot). */
  private findBucket(at: number, none: string): void {
    const { em } = this;
    em.emit(loadMem(R1, FP, at, 8), ldImm64(R2, HASH_MULTIPLIER), Mul.reg(R1, R2));
    em.emit(RSh.imm(R1, 64 - this.table.bits), storeMem(FP, this.bucket, R1, 8));
    em.emit(ldMapFd(R1, this.maps.holders), Mov.reg(R2, FP), Add.imm(R2, this.bucket));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, none), Mov.reg(R4, R0));
    em.emit(loadMem(R3, FP, at, 8));
  }

  /**
   * r0 = the token of the slot of way r5 in slots.bucket, or jump to `none`. The slot index
   * (bucket × ways + way) is a value the verifier does not know: the ways' paths merge.
   */
  private tokenAt(none: string): void {
    const { em } = this;
    em.emit(loadMem(R1, FP, this.bucket, 8), LSh.imm(R1, Math.log2(this.table.ways)));
    em.emit(Or.reg(R1, R5), storeMem(FP, this.slot, R1, 8));
    em.emit(ldMapFd(R1, this.maps.tokens), Mov.reg(R2, FP), Add.imm(R2, this.slot));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, none));
  }

  private keyAt(way: number): number {
    return TokenHolders.keys + way * 8;
  }

  /** r0 = the token held by the key at fp + at, or jump to `none`. */
  lookup(at: number, none: string): void {
    const { em } = this;
    const found = em.fresh("token_found");
    this.findBucket(at, none);
    em.emit(loadMem(R1, R4, TokenHolders.mayHold, 8), JEq.imm(R1, 0, none));
    for (let way = 0; way < this.table.ways; way++) {
      em.emit(loadMem(R1, R4, this.keyAt(way), 8), JEq.reg(R1, R3, `${found}_${way}`));
    }
    em.emit(ja(none));
    // r5 = the way, set only once found: a miss (most lookups) is a load and a jump per way
    for (let way = 0; way < this.table.ways; way++) {
      em.label(`${found}_${way}`);
      em.emit(Mov.imm(R5, way));
      if (way + 1 < this.table.ways) em.emit(ja(found));
    }
    em.label(found);
    this.tokenAt(none);
  }

  /** The key at fp + at holds no token any more (nothing when it held none). */
  remove(at: number): void {
    const { em } = this;
    const done = em.fresh("token_removed");
    const holder = em.fresh("holder");
    this.findBucket(at, done);
    em.emit(loadMem(R1, R4, TokenHolders.mayHold, 8), JEq.imm(R1, 0, done));
    for (let way = 0; way < this.table.ways; way++) {
      em.emit(loadMem(R1, R4, this.keyAt(way), 8), JEq.reg(R1, R3, `${holder}_${way}`));
    }
    em.emit(ja(done));
    // holder → 0 by cmpxchg: a slot freed and taken by another holder meanwhile stays
    for (let way = 0; way < this.table.ways; way++) {
      em.label(`${holder}_${way}`);
      em.emit(Mov.reg(R0, R3), Mov.imm(R2, 0), cmpxchg(R4, this.keyAt(way), R2));
      if (way + 1 < this.table.ways) em.emit(ja(done));
    }
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  /**
   * A copy of the token `src` (r6–r9) under the key at fp + at, as map_update_elem would put
   * it: r0 = 0 placed, -EEXIST when the key holds one (unless `replace`: then it is
   * overwritten), -ENOSPC when the bucket is full or another put holds its seq.
   */
  put(at: number, src: Register, replace: boolean): void {
    const { em } = this;
    const done = em.fresh("put_done");
    const full = em.fresh("put_full");
    const exists = em.fresh("put_exists");
    this.reserve(at, exists, full);
    copyToken(em, R0, src);
    this.publish(at);
    em.emit(Mov.imm(R0, 0), ja(done));
    em.label(exists);
    if (!replace) em.emit(Mov.imm(R0, -EEXIST), ja(done));
    else {
      this.tokenAt(full);
      em.emit(storeMem(FP, this.placedAt, R0, 8));
      copyToken(em, R0, src);
      em.emit(Mov.imm(R0, 0), ja(done));
    }
    em.label(full);
    em.emit(Mov.imm(R0, -ENOSPC));
    em.label(done);
  }

  /**
   * A slot for the key at fp + at, its bucket taken (seq odd): r0 = its token, to be written
   * in place, then published (publish) or given up (abandon). Jumps to `exists` (r5 = its
   * way) when the key holds a token, to `full` when the bucket is full or another put holds
   * or changed its seq since the scan (the scan may be stale: the key added meanwhile).
   */
  reserve(at: number, exists: string, full: string): void {
    const { em } = this;
    const reserved = em.fresh("reserved");
    const unlockFull = em.fresh("put_unlock_full");
    const scanned = em.fresh("put_scanned");
    const none = this.table.ways;
    this.findBucket(at, full);
    // the seq before the slots: a put that changes a slot after this read fails our cmpxchg
    em.emit(loadMem(R1, R4, TokenHolders.seq, 8), storeMem(FP, this.seq, R1, 8), Mov.imm(R5, none));
    // highest way first, so that r5 ends at the lowest free slot; r2 = the ways taken
    const scan = em.fresh("put_way");
    const next = (way: number) => (way > 0 ? `${scan}_${way - 1}` : scanned);
    em.emit(Mov.imm(R2, 0));
    for (let way = this.table.ways - 1; way >= 0; way--) {
      em.label(`${scan}_${way}`);
      em.emit(loadMem(R1, R4, this.keyAt(way), 8), JEq.reg(R1, R3, `${exists}_${way}`));
      em.emit(JEq.imm(R1, 0, `${scan}_free_${way}`), Or.imm(R2, 1 << way), ja(next(way)));
      em.label(`${scan}_free_${way}`);
      em.emit(Mov.imm(R5, way));
    }
    em.label(scanned);
    em.emit(JEq.imm(R5, none, full), storeMem(FP, this.mask, R2, 8));
    em.emit(loadMem(R1, FP, this.seq, 8), JSet.imm(R1, 1, full));
    em.emit(Mov.reg(R0, R1), Mov.reg(R2, R1), Add.imm(R2, 1), cmpxchg(R4, TokenHolders.seq, R2));
    em.emit(JNE.reg(R0, R1, full));
    em.emit(storeMem(FP, this.holders, R4, 8), storeMem(FP, this.way, R5, 8));
    this.tokenAt(unlockFull);
    em.emit(storeMem(FP, this.placedAt, R0, 8), ja(reserved));
    em.label(unlockFull);
    this.abandon();
    em.emit(ja(full));
    for (let way = 0; way < this.table.ways; way++) {
      em.label(`${exists}_${way}`);
      em.emit(Mov.imm(R5, way));
      if (way + 1 < this.table.ways) em.emit(ja(exists));
    }
    em.emit(ja(exists));
    em.label(reserved);
    em.emit(loadMem(R0, FP, this.placedAt, 8));
  }

  /** The reserved slot holds the key at fp + at: its token was written before (x86 keeps stores in order). */
  publish(at: number): void {
    const { em } = this;
    // the way's bit before its key: a lookup that reads the mask without it misses the key
    em.emit(loadMem(R5, FP, this.way, 8), Mov.imm(R1, 1), LSh.reg(R1, R5));
    em.emit(loadMem(R2, FP, this.mask, 8), Or.reg(R2, R1), storeMem(FP, this.mask, R2, 8));
    em.emit(loadMem(R4, FP, this.holders, 8), storeMem(R4, TokenHolders.mayHold, R2, 8));
    em.emit(LSh.imm(R5, 3), Add.reg(R4, R5), loadMem(R1, FP, at, 8));
    em.emit(storeMem(R4, TokenHolders.keys, R1, 8));
    this.release();
  }

  /** The reserved slot stays free: the bucket's mask as its scan found it, its seq released. */
  abandon(): void {
    const { em } = this;
    em.emit(loadMem(R4, FP, this.holders, 8), loadMem(R2, FP, this.mask, 8));
    em.emit(storeMem(R4, TokenHolders.mayHold, R2, 8));
    this.release();
  }

  /** The bucket's seq back to even, two past the value read before the scan. */
  private release(): void {
    const { em } = this;
    em.emit(loadMem(R4, FP, this.holders, 8), loadMem(R1, FP, this.seq, 8), Add.imm(R1, 2));
    em.emit(storeMem(R4, TokenHolders.seq, R1, 8));
  }
}

/**
 * *dst = *src for a token's header and the stages it keeps (the rest is never read), the
 * stages in a bounded loop (unrolled, the copies made the programs ~3× larger, and slower
 * even on paths that copy nothing). Uses r1–r5.
 */
function copyToken(em: Emitter, dst: Register, src: Register): void {
  const loop = em.fresh("copy_stage");
  const copied = em.fresh("copied");
  for (let off = 0; off < Token.stage0; off += 8) {
    em.emit(loadMem(R1, src, off, 8), storeMem(dst, off, R1, 8));
  }
  em.emit(loadMem(R2, src, Token.stages, 4), Mov.imm(R3, 0));
  em.label(loop);
  em.emit(JGE.imm(R3, BPF_MAX_STAGES * Stage.size, copied), JEq.imm(R2, 0, copied));
  em.emit(Mov.reg(R4, src), Add.reg(R4, R3), Mov.reg(R5, dst), Add.reg(R5, R3));
  for (let off = 0; off < Stage.size; off += 8) {
    const at = Token.stage0 + off;
    em.emit(loadMem(R1, R4, at, 8), storeMem(R5, at, R1, 8));
  }
  em.emit(Add.imm(R3, Stage.size), Sub.imm(R2, 1), ja(loop));
  em.label(copied);
  em.emit(Mov.imm(R1, 0));
}
