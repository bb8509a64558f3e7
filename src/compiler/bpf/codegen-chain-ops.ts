// The operations a chain tracker's programs are made of (codegen-chain.ts composes them per
// tracepoint): the current holder's key, token lookups, copies and moves under the keep
// policy, stage appends, dropping a branch (counting a broken chain), ending a chain (the hit
// record, the pair's counters and each segment's). Layouts: chain-layout.ts.

import {
  AT_TARGET,
  BPF_MAX_STAGES,
  ChainValue,
  CpuState,
  Holder,
  Stage,
  Token,
} from "./chain-layout.ts";
import { endChain } from "./codegen-chain-end.ts";
import type { ChainMaps, ChainSlots, StageTask } from "./codegen-chain-frame.ts";
import { TokenSlots } from "./codegen-chain-tokens.ts";
import { increment, lookupStats, type ProgramContext } from "./codegen-program.ts";
import { chunks } from "./codegen-string.ts";
import { BPF_ANY, BPF_NOEXIST, EEXIST, Helper } from "./helpers.ts";
import {
  Add,
  And,
  call,
  cmpxchg,
  FP,
  fetchAdd,
  JEq,
  JGE,
  JLT,
  JNE,
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
  R6,
  R7,
  R8,
  R9,
  type Register,
  RSh,
  Sub,
  storeImm,
  storeMem,
} from "./insn.ts";
import { type ChainTableLayout, HASH_MULTIPLIER, Stats } from "./layout.ts";

export class ChainOps {
  /** The token table (holder → token): set-associative slots (codegen-chain-tokens.ts). */
  private readonly tokens: TokenSlots;

  constructor(
    readonly c: ProgramContext,
    readonly maps: ChainMaps,
    readonly slots: ChainSlots,
    /** CPUs a woken task may be running on (the `running` map's entries). */
    readonly cpus: number,
    /** The chain table's geometry (and the token table's). */
    readonly table: ChainTableLayout,
  ) {
    const refs = { holders: maps.tokens, tokens: maps.tokenSlots };
    this.tokens = new TokenSlots(c.em, refs, table.tokens);
  }

  get em() {
    return this.c.em;
  }

  /**
   * cpu and a zero index on the stack (first thing in a program). The clock is read later,
   * by ensureNow(), only on an event that moves a chain: most events move none.
   */
  prologue(): void {
    const { em } = this;
    const s = this.slots;
    em.emit(Mov.reg(R6, R1), storeImm(FP, s.now, 0, 8));
    em.emit(call(Helper.get_smp_processor_id), storeMem(FP, s.cpu, R0, 8));
    em.emit(storeImm(FP, s.zero, 0, 8));
  }

  /** slots.now = the clock, read once per event (at the first stage, step or end). Clobbers r0–r5. */
  ensureNow(): void {
    const { em } = this;
    const have = em.fresh("have_now");
    em.emit(loadMem(R0, FP, this.slots.now, 8), JNE.imm(R0, 0, have));
    em.emit(call(Helper.ktime_get_ns), storeMem(FP, this.slots.now, R0, 8));
    em.label(have);
    em.emit(Mov.imm(R0, 0));
  }

  /** r0 = this CPU's scope stack (exits when the lookup fails: it cannot). */
  cpuState(): void {
    const { em } = this;
    em.emit(ldMapFd(R1, this.maps.cpu), Mov.reg(R2, FP), Add.imm(R2, this.slots.zero));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, "exit"));
  }

  /** *(fp + at) = the key of scope `depthReg` on this CPU. */
  scopeKey(at: number, depth: Register): void {
    const { em } = this;
    em.emit(loadMem(R1, FP, this.slots.cpu, 8), LSh.imm(R1, 8), Or.reg(R1, depth));
    em.emit(ldImm64(R2, Holder.scope), Or.reg(R1, R2), storeMem(FP, at, R1, 8));
  }

  /** *(fp + at) = the key of task `tid` (r-register) on this CPU (tid 0: this CPU's idle task). */
  taskKey(at: number, tid: Register): void {
    const { em } = this;
    const done = em.fresh("task_key");
    em.emit(storeMem(FP, at, tid, 8), JNE.imm(tid, 0, done));
    em.emit(loadMem(R1, FP, this.slots.cpu, 8), ldImm64(R2, Holder.idle), Or.reg(R1, R2));
    em.emit(storeMem(FP, at, R1, 8));
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  /** *(fp + at) = the key of this CPU's pending raise of vector `vec` (a register). */
  raiseKey(at: number, vec: Register): void {
    const { em } = this;
    em.emit(loadMem(R1, FP, this.slots.cpu, 8), LSh.imm(R1, 8), Or.reg(R1, vec));
    em.emit(ldImm64(R2, Holder.raise), Or.reg(R1, R2), storeMem(FP, at, R1, 8));
  }

  /**
   * slots.tail = the key of this CPU's IRQ tail; with `none`, jumps there instead when the
   * CPU's flag says the tail is empty.
   */
  tailKey(none: string | null): void {
    const { em } = this;
    if (none !== null) {
      this.cpuState();
      em.emit(loadMem(R1, R0, CpuState.tail, 4), JEq.imm(R1, 0, none));
    }
    em.emit(loadMem(R1, FP, this.slots.cpu, 8), ldImm64(R2, Holder.tail), Or.reg(R1, R2));
    em.emit(storeMem(FP, this.slots.tail, R1, 8));
  }

  /** The CPU's IRQ tail ends: its token, if any, is dropped (broken when its last copy). */
  dropTail(): void {
    const { em } = this;
    const done = em.fresh("no_tail");
    this.tailKey(done);
    this.cpuState();
    em.emit(storeImm(R0, CpuState.tail, 0, 4));
    this.dropToken(this.slots.tail);
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  /** slots.holder = the current context: the innermost open scope, else the running task. */
  currentHolder(): void {
    const { em } = this;
    const task = em.fresh("in_task");
    const done = em.fresh("holder_done");
    this.cpuState();
    em.emit(loadMem(R7, R0, CpuState.depth, 4), storeMem(FP, this.slots.depth, R7, 8));
    em.emit(JEq.imm(R7, 0, task));
    em.emit(Sub.imm(R7, 1));
    this.scopeKey(this.slots.holder, R7);
    em.emit(ja(done));
    em.label(task);
    em.emit(call(Helper.get_current_pid_tgid), Mov.reg(R7, R0), LSh.imm(R7, 32), RSh.imm(R7, 32));
    em.emit(storeMem(FP, this.slots.tid, R7, 8));
    this.taskKey(this.slots.holder, R7);
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  /**
   * r0 = the token at the key on the stack at `at` (in the token table, or the hand-off HASH
   * `map`), or jump to `none`. Clobbers r0–r5.
   */
  lookupToken(at: number, none: string, map = this.maps.tokens): void {
    const { em } = this;
    if (map === this.maps.tokens) {
      this.tokens.lookup(at, none);
      return;
    }
    em.emit(ldMapFd(R1, map), Mov.reg(R2, FP), Add.imm(R2, at));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, none));
  }

  /** r0 = the chain table slot at slots.chainBucket and slots.chainWay, or jump to `none`. */
  private chainSlot(none: string): void {
    const { em } = this;
    em.emit(ldMapFd(R1, this.maps.chains), Mov.reg(R2, FP), Add.imm(R2, this.slots.chainBucket));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, none));
    em.emit(loadMem(R1, FP, this.slots.chainWay, 8), And.imm(R1, this.table.ways - 1));
    em.emit(Mul.imm(R1, this.table.slotSize), Add.reg(R0, R1));
  }

  /** r0 = the chain table slot of the chain in slots.chainId, or jump to `none` (it ended). */
  lookupChain(none: string): void {
    const { em } = this;
    this.chainSlot(none);
    em.emit(loadMem(R1, R0, ChainValue.id, 8), loadMem(R2, FP, this.slots.chainId, 8));
    em.emit(JNE.reg(R1, R2, none));
  }

  /** slots.chainId, chainBucket, chainWay = the chain of the token at `token` and its slot. */
  chainOf(token: Register): void {
    const { em } = this;
    const s = this.slots;
    em.emit(loadMem(R1, token, Token.chain, 8), storeMem(FP, s.chainId, R1, 8));
    em.emit(
      loadMem(R1, token, Token.chainAt, 4),
      Mov.reg(R2, R1),
      And.imm(R2, this.table.ways - 1),
    );
    em.emit(storeMem(FP, s.chainWay, R2, 8), RSh.imm(R1, 4), storeMem(FP, s.chainBucket, R1, 8));
  }

  /**
   * A new chain (id in slots.chainId) claims a free slot of its bucket with cmpxchg: one live
   * branch, `moved` as given; slots.chainBucket and chainWay say where, and the token at
   * `token` records it. Jumps to `full` when every slot of the bucket is taken.
   */
  claimChain(token: Register, moved: 0 | 1, full: string): void {
    const { em } = this;
    const s = this.slots;
    const { bits, ways, slotSize } = this.table;
    const claimed = em.fresh("chain_claimed");
    if (bits === 0) em.emit(Mov.imm(R1, 0));
    else {
      em.emit(loadMem(R1, FP, s.chainId, 8), ldImm64(R2, HASH_MULTIPLIER));
      em.emit(Mul.reg(R1, R2), RSh.imm(R1, 64 - bits));
    }
    em.emit(storeMem(FP, s.chainBucket, R1, 8));
    em.emit(ldMapFd(R1, this.maps.chains), Mov.reg(R2, FP), Add.imm(R2, s.chainBucket));
    em.emit(call(Helper.map_lookup_elem), JEq.imm(R0, 0, full), Mov.reg(R7, R0));
    for (let way = 0; way < ways; way++) {
      const taken = em.fresh("chain_taken");
      em.emit(loadMem(R1, R7, way * slotSize + ChainValue.id, 8), JNE.imm(R1, 0, taken));
      em.emit(Mov.imm(R8, way), Mov.imm(R0, 0), loadMem(R2, FP, s.chainId, 8));
      em.emit(cmpxchg(R7, way * slotSize + ChainValue.id, R2), JEq.imm(R0, 0, claimed));
      em.label(taken);
      em.emit(Mov.imm(R0, 0));
    }
    em.emit(ja(full));
    em.label(claimed);
    em.emit(storeMem(FP, s.chainWay, R8, 8), Mov.reg(R1, R8), Mul.imm(R1, slotSize));
    em.emit(Add.reg(R1, R7), storeImm(R1, ChainValue.branches, 1, 8));
    em.emit(storeImm(R1, ChainValue.moved, moved, 8));
    em.emit(loadMem(R1, FP, s.chainBucket, 8), LSh.imm(R1, 4), Or.reg(R1, R8));
    em.emit(storeMem(token, Token.chainAt, R1, 4));
  }

  /** One more (or one fewer) live branch of the chain in slots.chainId; marks it moved. */
  addBranch(delta: 1 | -1, whenLast?: string): void {
    const { em } = this;
    const skip = em.fresh("branch_done");
    this.lookupChain(skip);
    em.emit(Mov.imm(R1, delta), fetchAdd(R0, ChainValue.branches, R1));
    if (delta === 1) em.emit(storeImm(R0, ChainValue.moved, 1, 8));
    else if (whenLast) {
      em.emit(JNE.imm(R1, 1, skip), loadMem(R1, R0, ChainValue.moved, 8), ja(whenLast));
    }
    em.label(skip);
    em.emit(Mov.imm(R0, 0));
  }

  /**
   * Deletes the token at `at` when its chain has ended (a branch withdrawn when another one
   * ended the chain, which replay removes at once): it must not keep its place from a new
   * chain under `keep first`. `whenLive`: where to jump when a live token is there.
   */
  purgeWithdrawn(at: number, map = this.maps.tokens, whenLive: string | null = null): void {
    const { em } = this;
    const done = em.fresh("not_withdrawn");
    this.lookupToken(at, done, map);
    this.chainOf(R0);
    this.lookupChain(`${done}_gone`);
    em.emit(ja(whenLive ?? done));
    em.label(`${done}_gone`);
    this.deleteToken(at, map);
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  /**
   * Drops the token at the key on the stack at `at` (a task that blocked, a scope that
   * closed, a place taken under `keep last`): the chain is broken when that was its last
   * branch and it had moved. `found`: a register already pointing at that token (no lookup).
   */
  dropToken(at: number, map = this.maps.tokens, found: Register | null = null): void {
    const { em } = this;
    const done = em.fresh("drop_done");
    const last = em.fresh("last_branch");
    if (found === null) this.lookupToken(at, done, map);
    this.chainOf(found ?? R0);
    this.deleteToken(at, map);
    this.addBranch(-1, last);
    em.emit(ja(done));
    em.label(last);
    // r1 = moved: forget the chain, count it broken when it had left its origin's context
    em.emit(Mov.reg(R7, R1));
    this.deleteChain();
    em.emit(JNE.imm(R0, 0, done), JEq.imm(R7, 0, done));
    lookupStats(this.c);
    increment(em, R0, Stats.broken);
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }

  deleteToken(at: number, map = this.maps.tokens): void {
    const { em } = this;
    if (map === this.maps.tokens) {
      this.tokens.remove(at);
      return;
    }
    em.emit(ldMapFd(R1, map), Mov.reg(R2, FP), Add.imm(R2, at));
    em.emit(call(Helper.map_delete_elem));
  }

  /**
   * Releases slots.chainId's slot (id → 0 by cmpxchg): r0 = 0 for the one CPU that did, as a
   * HASH delete would say (the others found it released, or taken by another chain since).
   */
  deleteChain(): void {
    const { em } = this;
    const lost = em.fresh("chain_lost");
    const done = em.fresh("chain_deleted");
    this.chainSlot(lost);
    em.emit(Mov.reg(R1, R0), loadMem(R0, FP, this.slots.chainId, 8), Mov.reg(R3, R0));
    em.emit(Mov.imm(R2, 0), cmpxchg(R1, ChainValue.id, R2), JNE.reg(R0, R3, lost));
    em.emit(Mov.imm(R0, 0), ja(done));
    em.label(lost);
    em.emit(Mov.imm(R0, 1));
    em.label(done);
  }

  /**
   * Copies the token r7 points at to the key at `to` under the keep policy (`oldestWins`: a
   * token there stays, as for pending raises); counts a copy that does not fit as dropped.
   * Jumps to `none` when nothing was copied; else r9 = the copy. Under keep first the copy is
   * tried first: only when a token is there is it checked for a withdrawn one (then retried).
   */
  copyToken(to: number, oldestWins: boolean, none: string): void {
    const { em } = this;
    const keepLast = !oldestWins && this.c.layout.plan.keep === "last";
    const placed = em.fresh("placed");
    const full = em.fresh("copy_full");
    this.chainOf(R7);
    if (keepLast) {
      em.emit(Mov.reg(R9, R7));
      this.dropToken(to);
      em.emit(Mov.reg(R7, R9));
      // the token r7 points at may have been the one dropped (a copy onto itself)
      this.chainOf(R7);
    }
    this.putToken(to, R7, keepLast);
    em.emit(JEq.imm(R0, 0, placed), JNE.imm(R0, -EEXIST, full));
    if (!keepLast) {
      em.emit(Mov.reg(R9, R7));
      this.purgeWithdrawn(to);
      em.emit(Mov.reg(R7, R9));
      this.chainOf(R7);
      this.putToken(to, R7, false);
      em.emit(JEq.imm(R0, 0, placed));
    }
    em.emit(JEq.imm(R0, -EEXIST, none));
    em.label(full);
    lookupStats(this.c);
    increment(em, R0, Stats.dropped);
    em.emit(ja(none));
    em.label(placed);
    this.addBranch(1);
    this.tokenPut(to, none);
    em.emit(Mov.reg(R9, R0));
  }

  /**
   * r0 = the result of putting a copy of the token `token` (r6–r9) points at under the key at
   * `at` (map_update_elem's: 0, -EEXIST without `replace`, else it did not fit). Clobbers r0–r5.
   */
  putToken(at: number, token: Register, replace: boolean, map = this.maps.tokens): void {
    const { em } = this;
    if (map === this.maps.tokens) {
      this.tokens.put(at, token, replace);
      return;
    }
    em.emit(ldMapFd(R1, map), Mov.reg(R2, FP), Add.imm(R2, at), Mov.reg(R3, token));
    em.emit(Mov.imm(R4, replace ? BPF_ANY : BPF_NOEXIST), call(Helper.map_update_elem));
  }

  /**
   * r0 = a free slot's token in the token table for the key at `at`, to be written in place
   * and then published (publishToken) or given up (abandonToken); jumps to `exists` when the
   * key holds a token, to `full` when it does not fit. Clobbers r0–r5.
   */
  reserveToken(at: number, exists: string, full: string): void {
    this.tokens.reserve(at, exists, full);
  }

  /** The slot reserved for the key at `at` holds it now. Clobbers r0–r5. */
  publishToken(at: number): void {
    this.tokens.publish(at);
  }

  /** The slot reserved stays free. Clobbers r0–r5. */
  abandonToken(): void {
    this.tokens.abandon();
  }

  /** r0 = the token just put under the key at `at`, or jump to `none`. */
  tokenPut(at: number, none: string, map = this.maps.tokens): void {
    if (map === this.maps.tokens) this.tokens.placed();
    else this.lookupToken(at, none, map);
  }

  /**
   * Moves the token at `from` to `to` (a raise into its softirq); r9 = it, else `none`. The
   * chain is marked moved already: a raise is a copy (copyToken).
   */
  moveToken(from: number, to: number, none: string): void {
    const { em } = this;
    this.lookupToken(from, none);
    em.emit(Mov.reg(R7, R0));
    this.putToken(to, R7, true);
    em.emit(JNE.imm(R0, 0, none));
    this.deleteToken(from);
    this.tokenPut(to, none);
    em.emit(Mov.reg(R9, R0));
  }

  /**
   * Moves the token at `from` (in `fromMap`) to `to` (in `toMap`) under the keep policy: a
   * `->` hand-off into the hand-off table, or out of it into a context. A token that loses to
   * one already there is dropped (it may break its chain); one that does not fit (the table
   * holds `capacity` tokens) too, counted in `dropped`. r9 = the moved token, else `none`.
   */
  handOver(from: number, fromMap: string, to: number, toMap: string, none: string): void {
    const { em } = this;
    const keepLast = this.c.layout.plan.keep === "last";
    if (keepLast) this.dropToken(to, toMap);
    else this.purgeWithdrawn(to, toMap);
    this.lookupToken(from, none, fromMap);
    em.emit(Mov.reg(R7, R0));
    this.putToken(to, R7, keepLast, toMap);
    const moved = em.fresh("handed");
    const lost = em.fresh("hand_lost");
    em.emit(JEq.imm(R0, 0, moved), JEq.imm(R0, -EEXIST, lost));
    lookupStats(this.c);
    increment(em, R0, Stats.dropped);
    em.label(lost);
    this.dropToken(from, fromMap);
    em.emit(ja(none));
    em.label(moved);
    this.chainOf(R7);
    this.deleteToken(from, fromMap);
    const marked = em.fresh("marked");
    this.lookupChain(marked);
    em.emit(storeImm(R0, ChainValue.moved, 1, 8));
    em.label(marked);
    this.tokenPut(to, none, toMap);
    em.emit(Mov.reg(R9, R0));
  }

  /**
   * Appends a stage to the token r9 points at (r9 kept): now, this CPU, the task, the kind,
   * the step and a detail (irq number or vector, from a register or 0). Past BPF_MAX_STAGES
   * the last stage kept is replaced: the durations still add up to the latency.
   */
  appendStage(kind: number, step: number, detail: Register | null, task: StageTask): void {
    const { em } = this;
    const s = this.slots;
    const room = em.fresh("room");
    const at = em.fresh("stage_at");
    if (detail !== null) em.emit(storeMem(FP, s.detail, detail, 8));
    this.ensureNow();
    if (detail !== null) em.emit(loadMem(R4, FP, s.detail, 8), And.imm(R4, 0xffff));
    else em.emit(Mov.imm(R4, 0));
    em.emit(loadMem(R1, R9, Token.stages, 4), JLT.imm(R1, BPF_MAX_STAGES, room));
    em.emit(Mov.imm(R1, BPF_MAX_STAGES - 1), ja(at));
    em.label(room);
    em.emit(Mov.reg(R2, R1), Add.imm(R2, 1), storeMem(R9, Token.stages, R2, 4));
    em.label(at);
    em.emit(And.imm(R1, BPF_MAX_STAGES - 1), Mul.imm(R1, Stage.size), Add.imm(R1, Token.stage0));
    em.emit(Mov.reg(R8, R9), Add.reg(R8, R1));
    em.emit(loadMem(R1, FP, s.now, 8), storeMem(R8, Stage.ts, R1, 8));
    const cpuSlot = task.kind === "field" ? (task.cpuSlot ?? s.cpu) : s.cpu;
    em.emit(loadMem(R1, FP, cpuSlot, 8), storeMem(R8, Stage.cpu, R1, 4));
    em.emit(Mov.imm(R1, (kind << 24) | (step << 16)), Or.reg(R1, R4));
    em.emit(storeMem(R8, Stage.info, R1, 4));
    if (task.kind === "current") this.currentTask(R8);
    else {
      // the event's own fields: plain context loads, no helper
      em.emit(loadMem(R1, R6, task.tid, 4), storeMem(R8, Stage.pidTgid, R1, 8));
      for (const { at, size } of chunks([task.comm, Stage.comm], 16)) {
        em.emit(loadMem(R1, R6, task.comm + at, size), storeMem(R8, Stage.comm + at, R1, size));
      }
    }
  }

  /**
   * The stage at `stage` names the current task: with task_struct offsets (BTF) one helper
   * call and loads, else the pid/tgid and comm helpers.
   */
  private currentTask(stage: Register): void {
    const { em } = this;
    const task = this.c.task;
    if (task === undefined) {
      em.emit(call(Helper.get_current_pid_tgid), storeMem(stage, Stage.pidTgid, R0, 8));
      em.emit(Mov.reg(R1, stage), Add.imm(R1, Stage.comm), Mov.imm(R2, 16));
      em.emit(call(Helper.get_current_comm));
      return;
    }
    em.emit(call(Helper.get_current_task_btf));
    em.emit(loadMem(R1, R0, task.tgid, 4), LSh.imm(R1, 32), loadMem(R2, R0, task.pid, 4));
    em.emit(Or.reg(R1, R2), storeMem(stage, Stage.pidTgid, R1, 8));
    for (const { at, size } of chunks([task.comm, Stage.comm], 16)) {
      em.emit(loadMem(R1, R0, task.comm + at, size), storeMem(stage, Stage.comm + at, R1, size));
    }
  }

  /** Jumps to `target` when the last stage of the token r9 points at is this event's. */
  ifLastStageIsThisEvent(target: string): void {
    const { em } = this;
    em.emit(loadMem(R1, R9, Token.stages, 4), JEq.imm(R1, 0, `${target}_none`), Sub.imm(R1, 1));
    em.emit(And.imm(R1, BPF_MAX_STAGES - 1), Mul.imm(R1, Stage.size), Add.reg(R1, R9));
    em.emit(loadMem(R2, R1, Token.stage0 + Stage.ts, 8), loadMem(R3, FP, this.slots.now, 8));
    em.emit(JEq.reg(R2, R3, target));
    em.label(`${target}_none`);
    em.emit(Mov.imm(R0, 0));
  }

  /**
   * The token r9 points at reaches its next step now; the last step ends the chain (`until
   * run`, or a target in an interrupt scope) or waits for its task to block (`until block`).
   */
  reach(inScope: boolean, tokenKey: number, endedFlag: number | null = null): void {
    const { em } = this;
    const plan = this.c.layout.plan;
    const steps = plan.chain!.steps.length;
    const done = em.fresh("reached");
    this.ensureNow();
    em.emit(loadMem(R1, R9, Token.step, 4), Mov.reg(R2, R1), And.imm(R2, 15));
    em.emit(JGE.imm(R2, Token.stage0 / 8 - Token.stepTs / 8, done));
    em.emit(LSh.imm(R2, 3), Add.imm(R2, Token.stepTs), Mov.reg(R3, R9), Add.reg(R3, R2));
    em.emit(loadMem(R4, FP, this.slots.now, 8), storeMem(R3, 0, R4, 8));
    em.emit(Add.imm(R1, 1), storeMem(R9, Token.step, R1, 4), JLT.imm(R1, steps, done));
    if (plan.chain!.until === "block") {
      const end = em.fresh("end_here");
      if (inScope) em.emit(loadMem(R1, FP, this.slots.depth, 8), JNE.imm(R1, 0, end));
      em.emit(loadMem(R1, R9, Token.flags, 4), Or.imm(R1, AT_TARGET));
      em.emit(storeMem(R9, Token.flags, R1, 4), ja(done));
      // reached in a task: it waits for the block; in an interrupt scope it ends here
      if (!inScope) {
        em.label(done);
        em.emit(Mov.imm(R0, 0));
        return;
      }
      em.label(end);
    }
    endChain(this, tokenKey);
    // the token is gone: the stack flag saying it is held is cleared
    if (endedFlag !== null) em.emit(storeImm(FP, endedFlag, 0, 8));
    em.label(done);
    em.emit(Mov.imm(R0, 0));
  }
}
