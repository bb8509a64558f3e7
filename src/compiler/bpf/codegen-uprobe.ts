// The values of a user-space probe in a BPF_PROG_TYPE_KPROBE program (R6 = struct pt_regs
// of the traced thread): each argument of the site fetched once into an 8-byte stack slot
// (constants, registers, memory operands through bpf_probe_read_user at base + index ×
// scale + displacement, plus the load bias regs->ip − site address for %rip- and
// symbol-relative operands), and `str(argN)`, a 64-byte NUL-terminated string read through
// the argument with bpf_probe_read_user_str.

import type { UserArgument, UserProbeSitePlan } from "../plan.ts";
import { USER_STRING_SIZE } from "../plan.ts";
import { x86Register } from "../uprobe/x86-registers.ts";
import { CodegenError, type Emitter } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import {
  Add,
  call,
  FP,
  type Insn,
  LSh,
  ldImm64,
  loadMem,
  Mov,
  R1,
  R2,
  R3,
  R4,
  R6,
  RSh,
  storeImm,
  storeMem,
} from "./insn.ts";

/** At a uprobe, regs->ip is the probe's runtime address. */
const PT_REGS_IP = x86Register("rip")!.ptRegsOffset;

/** Slot (8 bytes at FP+off) = argument `index` of the site, raw: the reader widens it by the field's type. */
export function fetchUserArgument(
  em: Emitter,
  site: UserProbeSitePlan,
  index: number,
  off: number,
): void {
  const argument = site.arguments[index];
  if (argument === undefined) throw new CodegenError(`the probe site has no argument ${index}`);
  const l = argument.location;
  if (l.kind === "constant") {
    em.emit(ldImm64(R1, BigInt(l.value)), storeMem(FP, off, R1, 8));
  } else if (l.kind === "register") {
    em.emit(loadMem(R1, R6, l.ptRegsOffset, 8));
    if (l.bitOffset !== 0) em.emit(RSh.imm(R1, l.bitOffset));
    em.emit(storeMem(FP, off, R1, 8));
  } else {
    // Zeroed first: the helper reads `size` bytes, the reader may widen the slot's low bytes.
    emitAddress(em, site, argument);
    em.emit(storeImm(FP, off, 0, 8), Mov.reg(R1, FP), Add.imm(R1, off));
    em.emit(Mov.imm(R2, argument.size), call(Helper.probe_read_user));
  }
}

/** R3 = the runtime address of a memory operand. */
function emitAddress(em: Emitter, site: UserProbeSitePlan, argument: UserArgument): void {
  const l = argument.location;
  if (l.kind !== "memory") return;
  const displacement = BigInt(l.displacement);
  if (l.relocated) {
    // Link-time address + load bias (regs->ip − the site's link-time address): PIE or not.
    em.emit(loadMem(R3, R6, PT_REGS_IP, 8), ldImm64(R4, displacement - BigInt(site.address)));
    em.emit(Add.reg(R3, R4));
  } else em.emit(ldImm64(R3, displacement));
  if (l.base !== null) em.emit(loadMem(R4, R6, l.base, 8), Add.reg(R3, R4));
  if (l.index !== null) {
    em.emit(loadMem(R4, R6, l.index, 8), LSh.imm(R4, Math.log2(l.scale)), Add.reg(R3, R4));
  }
}

/**
 * Slot (USER_STRING_SIZE bytes at FP+off) = the string argument `valueOff`'s slot points
 * to, zero-padded: keys compare every byte, so nothing after the NUL may be left over.
 */
export function fetchUserString(em: Emitter, valueOff: number, off: number): void {
  readString(em, off, USER_STRING_SIZE, Helper.probe_read_user_str, [loadMem(R3, FP, valueOff, 8)]);
}

/**
 * Slot (`size` bytes at FP+off) zeroed, then the NUL-terminated string at R3 (set by
 * `source`) copied into it by `helper` (a probe_read_*_str): the user-space probes' str()
 * and the tracepoints' __data_loc strings.
 */
export function readString(
  em: Emitter,
  off: number,
  size: number,
  helper: number,
  source: Insn[],
): void {
  for (let k = 0; k < size; k += 8) em.emit(storeImm(FP, off + k, 0, 8));
  em.emit(...source, Mov.reg(R1, FP), Add.imm(R1, off));
  em.emit(Mov.imm(R2, size), call(helper));
}
