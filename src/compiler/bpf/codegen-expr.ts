// Codegen of one probe side's expressions: builtins fetched through helpers into stack
// slots, tracepoint fields loaded from the context (R6), filters as conditional jumps,
// strings compared bytewise up to the NUL, and keys written into a stack buffer.

import type { TracepointField } from "../catalog/types.ts";
import type { CompareOp, Expr, ValueType } from "../plan.ts";
import { CodegenError, type Emitter, RegisterPool } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  ArSh,
  call,
  FP,
  JEq,
  JEq32,
  JGE,
  JGT,
  JLE,
  JLT,
  JNE,
  JNE32,
  JSGE,
  JSGT,
  JSLE,
  JSLT,
  ja,
  LSh,
  ldImm64,
  loadMem,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R6,
  type Register,
  type Size,
  storeImm,
  storeMem,
} from "./insn.ts";
import { type KeyLayout, keySlotSize } from "./layout.ts";

/** What a side needs fetched through a helper (or read with probe_read) before its expressions. */
type Need = "pidTgid" | "cpu" | "uidGid" | "cgroup" | "comm" | `field:${number}:${number}`;

/** A side's prefetched values: stack offsets (from R10) of what has been fetched. */
export class SideState {
  readonly slots = new Map<Need, number>();
  readonly pool = new RegisterPool();
  constructor(readonly em: Emitter) {}

  /** Fetches every value `exprs` need that is not yet on the stack. */
  fetch(exprs: readonly (Expr | null)[]): void {
    for (const e of exprs) if (e) for (const need of needsOf(e)) this.fetchOne(need);
  }

  /** Fetches one value into its slot (a preset slot when the caller placed it). */
  fetchOne(need: Need, presetOffset?: number): number {
    const known = this.slots.get(need);
    if (known !== undefined) return known;
    const em = this.em;
    const off = presetOffset ?? em.alloc(need === "comm" ? 16 : fieldNeedSize(need));
    if (need === "comm" || need.startsWith("field:")) {
      em.emit(Mov.reg(R1, FP), Add.imm(R1, off));
      if (need === "comm") em.emit(Mov.imm(R2, 16), call(Helper.get_current_comm));
      else {
        const [, offset, size] = need.split(":").map(Number);
        em.emit(Mov.imm(R2, size), Mov.reg(R3, R6), Add.imm(R3, offset));
        em.emit(call(Helper.probe_read_kernel));
      }
    } else {
      const helper = {
        pidTgid: Helper.get_current_pid_tgid,
        cpu: Helper.get_smp_processor_id,
        uidGid: Helper.get_current_uid_gid,
        cgroup: Helper.get_current_cgroup_id,
      }[need as "pidTgid" | "cpu" | "uidGid" | "cgroup"];
      em.emit(call(helper), storeMem(FP, off, R0, need === "cpu" ? 4 : 8));
    }
    this.slots.set(need, off);
    return off;
  }
}

function fieldNeedSize(need: Need): number {
  return need.startsWith("field:") ? Number(need.split(":")[2]) : 8;
}

/** The context may be read directly only at offsets >= 8, aligned to the access size. */
function directlyLoadable(f: TracepointField): boolean {
  return f.offset >= 8 && f.offset % f.size === 0 && [1, 2, 4, 8].includes(f.size);
}

function needsOf(e: Expr): Need[] {
  switch (e.kind) {
    case "builtin":
      return [builtinNeed(e.name)];
    case "field":
      if (e.field.dataLoc) {
        throw new CodegenError(
          `field ${e.field.name}: dynamic (__data_loc) fields are not supported live yet`,
        );
      }
      return e.type.kind === "int" && !directlyLoadable(e.field)
        ? [`field:${e.field.offset}:${e.field.size}`]
        : [];
    case "not":
      return needsOf(e.operand);
    case "compare":
    case "logic":
      return [...needsOf(e.left), ...needsOf(e.right)];
    default:
      return [];
  }
}

function builtinNeed(name: string): Need {
  if (name === "tid" || name === "pid") return "pidTgid";
  if (name === "uid") return "uidGid";
  return name as "cpu" | "cgroup" | "comm";
}

// ---------------------------------------------------------------- integers

function fitsImm32(v: bigint): boolean {
  return v >= -(2n ** 31n) && v < 2n ** 31n;
}

function literalOf(e: Expr): bigint | null {
  return e.kind === "int" ? BigInt(e.value) : null;
}

/** dst = the value widened to 64 bits (sign- or zero-extended by the source's signedness). */
function loadWidened(
  s: SideState,
  dst: Register,
  base: Register,
  off: number,
  size: number,
  signed: boolean,
) {
  s.em.emit(loadMem(dst, base, off, size as Size));
  if (signed && size < 8) {
    const shift = 64 - size * 8;
    s.em.emit(LSh.imm(dst, shift), ArSh.imm(dst, shift));
  }
}

/** Evaluates an integer expression into a fresh register (the caller releases it). */
export function evalInt(s: SideState, e: Expr): Register {
  const r = s.pool.take();
  const em = s.em;
  switch (e.kind) {
    case "int": {
      const v = BigInt(e.value);
      em.emit(fitsImm32(v) ? Mov.imm(r, Number(v)) : ldImm64(r, v));
      return r;
    }
    case "field": {
      const f = e.field;
      const signed = f.signed;
      if (directlyLoadable(f)) loadWidened(s, r, R6, f.offset, f.size, signed);
      else loadWidened(s, r, FP, s.fetchOne(`field:${f.offset}:${f.size}`), f.size, signed);
      return r;
    }
    case "builtin": {
      const off = s.fetchOne(builtinNeed(e.name));
      if (e.name === "comm") throw new CodegenError("comm is a string, not an integer");
      const at = e.name === "pid" ? off + 4 : off;
      em.emit(loadMem(r, FP, at, e.name === "cgroup" ? 8 : 4));
      return r;
    }
    case "not":
    case "compare":
    case "logic": {
      const done = em.fresh("bool");
      em.emit(Mov.imm(r, 1));
      branch(s, e, done, true);
      em.emit(Mov.imm(r, 0));
      em.label(done); // lands on whatever the caller emits next
      return r;
    }
    case "string":
      throw new CodegenError("a string is not an integer");
  }
}

const negated: Record<CompareOp, CompareOp> = {
  "==": "!=",
  "!=": "==",
  "<": ">=",
  "<=": ">",
  ">": "<=",
  ">=": "<",
};
const mirrored: Record<CompareOp, CompareOp> = {
  "==": "==",
  "!=": "!=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

function jumpFor(op: CompareOp, signed: boolean) {
  switch (op) {
    case "==":
      return JEq;
    case "!=":
      return JNE;
    case "<":
      return signed ? JSLT : JLT;
    case "<=":
      return signed ? JSLE : JLE;
    case ">":
      return signed ? JSGT : JGT;
    case ">=":
      return signed ? JSGE : JGE;
  }
}

/** Values widened to 64 bits compare exactly as signed unless one is an unsigned 64-bit value. */
function signedCompare(a: ValueType, b: ValueType): boolean {
  const u64 = (t: ValueType) => t.kind === "int" && t.size === 8 && !t.signed;
  return !u64(a) && !u64(b);
}

/** Emits a jump to `target` taken when the boolean value of `e` equals `when`. */
export function branch(s: SideState, e: Expr, target: string, when: boolean): void {
  const em = s.em;
  switch (e.kind) {
    case "not":
      branch(s, e.operand, target, !when);
      return;
    case "logic": {
      // && jumps on false when either side is false; || jumps on true when either is true
      const shortCircuitsOn = e.op === "||";
      if (when === shortCircuitsOn) {
        branch(s, e.left, target, when);
        branch(s, e.right, target, when);
      } else {
        const skip = em.fresh("skip");
        branch(s, e.left, skip, !when);
        branch(s, e.right, target, when);
        em.label(skip);
      }
      return;
    }
    case "compare":
      if (e.left.type.kind === "string" || e.right.type.kind === "string") {
        if (e.op !== "==" && e.op !== "!=")
          throw new CodegenError(`strings compare with == or != only`);
        branchStringEqual(s, e.left, e.right, target, when === (e.op === "=="));
        return;
      }
      branchCompare(s, e.op, e.left, e.right, target, when);
      return;
    case "int":
      if ((BigInt(e.value) !== 0n) === when) em.emit(ja(target));
      return;
    default: {
      const r = evalInt(s, e);
      em.emit(when ? JNE.imm(r, 0, target) : JEq.imm(r, 0, target));
      s.pool.release(r);
    }
  }
}

function branchCompare(
  s: SideState,
  op: CompareOp,
  left: Expr,
  right: Expr,
  target: string,
  when: boolean,
) {
  const cmp = when ? op : negated[op];
  const signed = signedCompare(left.type, right.type);
  const rightLit = literalOf(right);
  const leftLit = literalOf(left);
  if (rightLit !== null && fitsImm32(rightLit)) {
    const r = evalInt(s, left);
    s.em.emit(jumpFor(cmp, signed).imm(r, Number(rightLit), target));
    s.pool.release(r);
  } else if (leftLit !== null && fitsImm32(leftLit)) {
    const r = evalInt(s, right);
    s.em.emit(jumpFor(mirrored[cmp], signed).imm(r, Number(leftLit), target));
    s.pool.release(r);
  } else {
    const a = evalInt(s, left);
    const b = evalInt(s, right);
    s.em.emit(jumpFor(cmp, signed).reg(a, b, target));
    s.pool.release(b);
    s.pool.release(a);
  }
}

// ---------------------------------------------------------------- strings

/** Where a string's bytes are: in the context (R6) or on the stack (R10), or a literal. */
type StringSource = { base: Register; offset: number; size: number } | { literal: Uint8Array };

function stringSource(s: SideState, e: Expr): StringSource {
  if (e.kind === "string") return { literal: new TextEncoder().encode(e.value) };
  if (e.kind === "builtin" && e.name === "comm")
    return { base: FP, offset: s.fetchOne("comm"), size: 16 };
  if (e.kind === "field" && !e.field.dataLoc) {
    return { base: R6, offset: e.field.offset, size: e.field.arrayLength ?? e.field.size };
  }
  throw new CodegenError(`cannot use this expression as a string live`);
}

/** Splits [0, n) into the largest accesses naturally aligned at every one of `bases`. */
export function chunks(bases: number | number[], n: number): { at: number; size: Size }[] {
  const all = typeof bases === "number" ? [bases] : bases;
  const aligned = (at: number, sz: number) => all.every((b) => (((b + at) % sz) + sz) % sz === 0);
  const out: { at: number; size: Size }[] = [];
  for (let k = 0; k < n; ) {
    const size = ([8, 4, 2, 1] as Size[]).find((sz) => aligned(k, sz) && k + sz <= n)!;
    out.push({ at: k, size });
    k += size;
  }
  return out;
}

function littleEndian(bytes: Uint8Array, from: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[from + i] ?? 0);
  return v;
}

function branchStringEqual(
  s: SideState,
  left: Expr,
  right: Expr,
  target: string,
  whenEqual: boolean,
) {
  const a = stringSource(s, left);
  const b = stringSource(s, right);
  if ("literal" in a && "literal" in b) {
    const same = Buffer.compare(Buffer.from(a.literal), Buffer.from(b.literal)) === 0;
    if (same === whenEqual) s.em.emit(ja(target));
  } else if ("literal" in b)
    branchEqualsLiteral(
      s,
      a as Exclude<StringSource, { literal: Uint8Array }>,
      b.literal,
      target,
      whenEqual,
    );
  else if ("literal" in a) branchEqualsLiteral(s, b, a.literal, target, whenEqual);
  else branchEqualsString(s, a, b, target, whenEqual);
}

/** Compares the bytes up to and including the literal's NUL (or the whole array when it is full). */
function branchEqualsLiteral(
  s: SideState,
  src: { base: Register; offset: number; size: number },
  literal: Uint8Array,
  target: string,
  whenEqual: boolean,
) {
  const em = s.em;
  if (literal.length > src.size) {
    if (!whenEqual) em.emit(ja(target));
    return;
  }
  const n = Math.min(literal.length + 1, src.size);
  const padded = new Uint8Array(n);
  padded.set(literal);
  const differ = whenEqual ? em.fresh("strne") : target;
  const r = s.pool.take();
  for (const c of chunks(src.offset, n)) {
    em.emit(loadMem(r, src.base, src.offset + c.at, c.size));
    const value = littleEndian(padded, c.at, c.size);
    if (c.size < 8) em.emit(JNE32.imm(r, Number(BigInt.asIntN(32, value)), differ));
    else {
      const v = s.pool.take();
      em.emit(ldImm64(v, value), JNE.reg(r, v, differ));
      s.pool.release(v);
    }
  }
  s.pool.release(r);
  if (whenEqual) {
    em.emit(ja(target));
    em.label(differ);
  }
}

/** Unrolled byte loop: equal at the first common NUL, different at the first differing byte. */
function branchEqualsString(
  s: SideState,
  a: { base: Register; offset: number; size: number },
  b: { base: Register; offset: number; size: number },
  target: string,
  whenEqual: boolean,
) {
  const em = s.em;
  const done = em.fresh("strcmp");
  const equal = whenEqual ? target : done;
  const differ = whenEqual ? done : target;
  const ra = s.pool.take();
  const rb = s.pool.take();
  const m = Math.min(a.size, b.size);
  for (let k = 0; k < m; k++) {
    em.emit(loadMem(ra, a.base, a.offset + k, 1), loadMem(rb, b.base, b.offset + k, 1));
    em.emit(JNE.reg(ra, rb, differ), JEq.imm(ra, 0, equal));
  }
  if (a.size === b.size) em.emit(ja(equal));
  else {
    const longer = a.size > b.size ? a : b;
    em.emit(loadMem(ra, longer.base, longer.offset + m, 1), JEq.imm(ra, 0, equal), ja(differ));
  }
  s.pool.release(rb);
  s.pool.release(ra);
  em.label(done);
}

// ---------------------------------------------------------------- keys

/** Writes the key expressions into the key buffer at R10+keyOffset (every byte initialised). */
export function buildKey(
  s: SideState,
  key: readonly Expr[],
  types: readonly Expr["type"][],
  layout: KeyLayout,
  keyOffset: number,
) {
  const em = s.em;
  if (key.length === 0) em.emit(storeImm(FP, keyOffset, 0, 8));
  key.forEach((e, i) => {
    const at = keyOffset + layout.offsets[i];
    const type = types[i];
    if (type.kind === "int") {
      const r = evalInt(s, e);
      em.emit(storeMem(FP, at, r, 8));
      s.pool.release(r);
      return;
    }
    const slot = keySlotSize(type);
    const src = stringSource(s, e);
    let copied = 0;
    if ("literal" in src) {
      const bytes = new Uint8Array(slot);
      bytes.set(src.literal.subarray(0, Math.min(src.literal.length, type.size)));
      for (let k = 0; k < slot; k += 4) {
        em.emit(storeImm(FP, at + k, Number(BigInt.asIntN(32, littleEndian(bytes, k, 4))), 4));
      }
      return;
    }
    const n = Math.min(src.size, type.size);
    const r = s.pool.take();
    for (const c of chunks([src.offset, at], n)) {
      em.emit(loadMem(r, src.base, src.offset + c.at, c.size), storeMem(FP, at + c.at, r, c.size));
    }
    s.pool.release(r);
    copied = n;
    for (const c of chunks(at + copied, slot - copied))
      em.emit(storeImm(FP, at + copied + c.at, 0, c.size));
  });
}
