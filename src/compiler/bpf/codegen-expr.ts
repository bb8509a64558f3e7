// Codegen of one probe side's expressions: tracepoint fields loaded from the context (R6)
// and widened, builtins read from their stack slots, filters as conditional jumps, and keys
// written into a stack buffer (ints widened to 8 bytes, strings padded).

import type { CompareOp, Expr } from "../plan.ts";
import { builtinNeed, directlyLoadable, type Prefetch, userNeed } from "./codegen-prefetch.ts";
import {
  branchStringEqual,
  chunks,
  jumpAlways,
  littleEndian,
  stringSource,
} from "./codegen-string.ts";
import { CodegenError } from "./emitter.ts";
import {
  ArSh,
  FP,
  JEq,
  JGE,
  JGT,
  JLE,
  JLT,
  JNE,
  JSGE,
  JSGT,
  JSLE,
  JSLT,
  ja,
  LSh,
  ldImm64,
  loadMem,
  Mov,
  R6,
  type Register,
  type Size,
  storeImm,
  storeMem,
} from "./insn.ts";
import { type KeyLayout, keySlotSize } from "./layout.ts";

// ---------------------------------------------------------------- integers

function fitsImm32(v: bigint): boolean {
  return v >= -(2n ** 31n) && v < 2n ** 31n;
}

function literalOf(e: Expr): bigint | null {
  return e.kind === "int" ? BigInt(e.value) : null;
}

/** dst = the value widened to 64 bits (sign- or zero-extended by the source's signedness). */
function loadWidened(
  pre: Prefetch,
  dst: Register,
  base: Register,
  off: number,
  size: number,
  signed: boolean,
) {
  pre.em.emit(loadMem(dst, base, off, size as Size));
  if (signed && size < 8) {
    const shift = 64 - size * 8;
    pre.em.emit(LSh.imm(dst, shift), ArSh.imm(dst, shift));
  }
}

/** Evaluates an integer expression into a fresh register (the caller releases it). */
export function evalInt(pre: Prefetch, e: Expr): Register {
  const r = pre.pool.take();
  const em = pre.em;
  switch (e.kind) {
    case "int": {
      const v = BigInt(e.value);
      em.emit(fitsImm32(v) ? Mov.imm(r, Number(v)) : ldImm64(r, v));
      return r;
    }
    case "field": {
      const f = e.field;
      const signed = f.signed;
      if (pre.site !== undefined)
        loadWidened(pre, r, FP, pre.fetchOne(userNeed(e)), f.size, signed);
      else if (directlyLoadable(f)) loadWidened(pre, r, R6, f.offset, f.size, signed);
      else loadWidened(pre, r, FP, pre.fetchOne(`field:${f.offset}:${f.size}`), f.size, signed);
      return r;
    }
    case "builtin": {
      const off = pre.fetchOne(builtinNeed(e.name));
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
      branch(pre, e, done, true);
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

/**
 * Values widened to 64 bits compare exactly (as replay's bigints do) with a signed compare,
 * unless an operand is an unsigned 64-bit value that may exceed 2^63. Literals do not count:
 * `ret >= 0` stays signed whatever type the checker gave the 0.
 */
function signedCompare(left: Expr, right: Expr): boolean {
  const u64 = (e: Expr) =>
    e.kind !== "int" && e.type.kind === "int" && e.type.size === 8 && !e.type.signed;
  return !u64(left) && !u64(right);
}

/** Emits a jump to `target` taken when the boolean value of `e` equals `when`. */
export function branch(pre: Prefetch, e: Expr, target: string, when: boolean): void {
  const em = pre.em;
  switch (e.kind) {
    case "not":
      branch(pre, e.operand, target, !when);
      return;
    case "logic": {
      // && jumps on false when either side is false; || jumps on true when either is true
      const shortCircuitsOn = e.op === "||";
      if (when === shortCircuitsOn) {
        branch(pre, e.left, target, when);
        branch(pre, e.right, target, when);
      } else {
        const skip = em.fresh("skip");
        branch(pre, e.left, skip, !when);
        branch(pre, e.right, target, when);
        em.label(skip);
      }
      return;
    }
    case "compare":
      if (e.left.type.kind === "string" || e.right.type.kind === "string") {
        if (e.op !== "==" && e.op !== "!=")
          throw new CodegenError(`strings compare with == or != only`);
        branchStringEqual(pre, e.left, e.right, target, when === (e.op === "=="));
        return;
      }
      branchCompare(pre, e.op, e.left, e.right, target, when);
      return;
    case "int":
      if ((BigInt(e.value) !== 0n) === when) jumpAlways(pre, target);
      return;
    default: {
      const r = evalInt(pre, e);
      em.emit(when ? JNE.imm(r, 0, target) : JEq.imm(r, 0, target));
      pre.pool.release(r);
    }
  }
}

function branchCompare(
  pre: Prefetch,
  op: CompareOp,
  left: Expr,
  right: Expr,
  target: string,
  when: boolean,
) {
  const cmp = when ? op : negated[op];
  const signed = signedCompare(left, right);
  const rightLit = literalOf(right);
  const leftLit = literalOf(left);
  if (rightLit !== null && fitsImm32(rightLit)) {
    const r = evalInt(pre, left);
    pre.em.emit(jumpFor(cmp, signed).imm(r, Number(rightLit), target));
    pre.pool.release(r);
  } else if (leftLit !== null && fitsImm32(leftLit)) {
    const r = evalInt(pre, right);
    pre.em.emit(jumpFor(mirrored[cmp], signed).imm(r, Number(leftLit), target));
    pre.pool.release(r);
  } else {
    const a = evalInt(pre, left);
    const b = evalInt(pre, right);
    pre.em.emit(jumpFor(cmp, signed).reg(a, b, target));
    pre.pool.release(b);
    pre.pool.release(a);
  }
}

// ---------------------------------------------------------------- keys

/** Writes the key expressions into the key buffer at R10+keyOffset (every byte initialised). */
export function buildKey(
  pre: Prefetch,
  key: readonly Expr[],
  types: readonly Expr["type"][],
  layout: KeyLayout,
  keyOffset: number,
) {
  if (key.length === 0) pre.em.emit(storeImm(FP, keyOffset, 0, 8));
  key.forEach((e, i) => {
    writeKeyPart(pre, e, types[i], keyOffset + layout.offsets[i]);
  });
}

/** One value at FP+at in its key slot: an int widened to 8 bytes, a string NUL-padded. */
export function writeKeyPart(pre: Prefetch, e: Expr, type: Expr["type"], at: number) {
  const em = pre.em;
  if (type.kind === "int") {
    const r = evalInt(pre, e);
    em.emit(storeMem(FP, at, r, 8));
    pre.pool.release(r);
    return;
  }
  const slot = keySlotSize(type);
  const src = stringSource(pre, e);
  if ("literal" in src) {
    const bytes = new Uint8Array(slot);
    bytes.set(src.literal.subarray(0, Math.min(src.literal.length, type.size)));
    for (let k = 0; k < slot; k += 4) {
      em.emit(storeImm(FP, at + k, Number(BigInt.asIntN(32, littleEndian(bytes, k, 4))), 4));
    }
    return;
  }
  const n = Math.min(src.size, type.size);
  if (src.base === FP) copyPadded(pre, src.offset, at, n);
  else copyUpToNul(pre, src.offset, at, n);
  for (const c of chunks(at + n, slot - n)) em.emit(storeImm(FP, at + n + c.at, 0, c.size));
}

/** comm from the helper is already NUL-padded: copy it in aligned chunks. */
function copyPadded(pre: Prefetch, from: number, at: number, n: number) {
  const r = pre.pool.take();
  for (const c of chunks([from, at], n)) {
    pre.em.emit(loadMem(r, FP, from + c.at, c.size), storeMem(FP, at + c.at, r, c.size));
  }
  pre.pool.release(r);
}

/**
 * A char array from the event may hold garbage after its NUL (only the string was written):
 * copy bytes up to the NUL and zero the rest, so that equal strings make equal keys.
 * At the first NUL, jump into a ladder of zero stores that falls through to the end.
 */
function copyUpToNul(pre: Prefetch, from: number, at: number, n: number) {
  const em = pre.em;
  const pad = em.fresh("pad");
  const r = pre.pool.take();
  for (let k = 0; k < n; k++) {
    em.emit(loadMem(r, R6, from + k, 1), JEq.imm(r, 0, `${pad}_${k}`), storeMem(FP, at + k, r, 1));
  }
  pre.pool.release(r);
  const done = em.fresh("copied");
  em.emit(ja(done));
  for (let k = 0; k < n; k++) {
    em.label(`${pad}_${k}`);
    em.emit(storeImm(FP, at + k, 0, 1));
  }
  em.label(done);
}
