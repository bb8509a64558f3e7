// Strings in filters and keys: char-array fields read from the context, comm and
// variable-length (__data_loc) strings fetched to the stack, literals; compared bytewise up
// to the NUL, copied in naturally aligned chunks.

import type { Expr } from "../plan.ts";
import { type Prefetch, userNeed } from "./codegen-prefetch.ts";
import { CodegenError } from "./emitter.ts";
import {
  FP,
  JEq,
  JNE,
  JNE32,
  ja,
  ldImm64,
  loadMem,
  Mov,
  R6,
  type Register,
  type Size,
} from "./insn.ts";

/** Where a string's bytes are: in the context (R6) or on the stack (R10), or a literal. */
export type StringSource =
  | { base: Register; offset: number; size: number }
  | { literal: Uint8Array };

export function stringSource(pre: Prefetch, e: Expr): StringSource {
  if (e.kind === "string") return { literal: new TextEncoder().encode(e.value) };
  if (e.kind === "builtin" && e.name === "comm")
    return { base: FP, offset: pre.fetchOne("comm"), size: 16 };
  if (e.kind === "field" && pre.site !== undefined)
    return {
      base: FP,
      offset: pre.fetchOne(userNeed(e)),
      size: e.type.kind === "string" ? e.type.size : 8,
    };
  if (e.kind === "field" && e.field.dataLoc)
    return { base: FP, offset: pre.fetchOne(`dstr:${e.field.offset}`), size: e.type.size };
  if (e.kind === "field") {
    return { base: R6, offset: e.field.offset, size: e.field.arrayLength ?? e.field.size };
  }
  throw new CodegenError(`cannot use this expression as a string live`);
}

/**
 * A jump always taken, written as a test of a constant: the verifier refuses a program with
 * code its static walk cannot reach, which a plain `goto` would leave after a filter that is
 * constant (a literal longer than its field, two literals, `where 0`).
 */
export function jumpAlways(pre: Prefetch, target: string): void {
  const r = pre.pool.take();
  pre.em.emit(Mov.imm(r, 0), JEq.imm(r, 0, target));
  pre.pool.release(r);
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

export function littleEndian(bytes: Uint8Array, from: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[from + i] ?? 0);
  return v;
}

export function branchStringEqual(
  pre: Prefetch,
  left: Expr,
  right: Expr,
  target: string,
  whenEqual: boolean,
) {
  const a = stringSource(pre, left);
  const b = stringSource(pre, right);
  if ("literal" in a && "literal" in b) {
    const same = Buffer.compare(Buffer.from(a.literal), Buffer.from(b.literal)) === 0;
    if (same === whenEqual) jumpAlways(pre, target);
  } else if ("literal" in b)
    branchEqualsLiteral(
      pre,
      a as Exclude<StringSource, { literal: Uint8Array }>,
      b.literal,
      target,
      whenEqual,
    );
  else if ("literal" in a) branchEqualsLiteral(pre, b, a.literal, target, whenEqual);
  else branchEqualsString(pre, a, b, target, whenEqual);
}

/** Compares the bytes up to and including the literal's NUL (or the whole array when it is full). */
function branchEqualsLiteral(
  pre: Prefetch,
  src: { base: Register; offset: number; size: number },
  literal: Uint8Array,
  target: string,
  whenEqual: boolean,
) {
  const em = pre.em;
  if (literal.length > src.size) {
    if (!whenEqual) jumpAlways(pre, target);
    return;
  }
  const n = Math.min(literal.length + 1, src.size);
  const padded = new Uint8Array(n);
  padded.set(literal);
  const differ = whenEqual ? em.fresh("strne") : target;
  const r = pre.pool.take();
  for (const c of chunks(src.offset, n)) {
    em.emit(loadMem(r, src.base, src.offset + c.at, c.size));
    const value = littleEndian(padded, c.at, c.size);
    if (c.size < 8) em.emit(JNE32.imm(r, Number(BigInt.asIntN(32, value)), differ));
    else {
      const v = pre.pool.take();
      em.emit(ldImm64(v, value), JNE.reg(r, v, differ));
      pre.pool.release(v);
    }
  }
  pre.pool.release(r);
  if (whenEqual) {
    em.emit(ja(target));
    em.label(differ);
  }
}

/** Unrolled byte loop: equal at the first common NUL, different at the first differing byte. */
function branchEqualsString(
  pre: Prefetch,
  a: { base: Register; offset: number; size: number },
  b: { base: Register; offset: number; size: number },
  target: string,
  whenEqual: boolean,
) {
  const em = pre.em;
  const done = em.fresh("strcmp");
  const equal = whenEqual ? target : done;
  const differ = whenEqual ? done : target;
  const ra = pre.pool.take();
  const rb = pre.pool.take();
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
  pre.pool.release(rb);
  pre.pool.release(ra);
  em.label(done);
}
