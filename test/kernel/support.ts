// Shared by the kernel test suites: whether bpf(2) may be used here (else the suite skips,
// printing why), tracepoint ids from tracefs, and a few hand-encoded BPF instructions.

import { existsSync, readFileSync } from "node:fs";
import { checkLivePermissions } from "../../src/kernel/permissions.ts";

/**
 * Why the kernel suites cannot run here, or null when bpf(2) and tracepoints are usable.
 * Suites call this once and print the reason instead of defining their tests.
 */
export function kernelSkipReason(): string | null {
  const perms = checkLivePermissions();
  return perms.ok ? null : perms.message;
}

/** Prints the skip line every kernel suite shows where it cannot run. */
export function reportSkip(suite: string, reason: string): void {
  console.log(`  skip ${suite}: ${reason}`);
}

export function tracefsRoot(): string {
  return existsSync("/sys/kernel/tracing/events")
    ? "/sys/kernel/tracing"
    : "/sys/kernel/debug/tracing";
}

/** The tracefs id of "category:name" (the perf_event_open config of a tracepoint). */
export function tracepointId(probe: string): number {
  const [category, name] = probe.split(":");
  return Number(readFileSync(`${tracefsRoot()}/events/${category}/${name}/id`, "utf8").trim());
}

/** One 8-byte instruction slot: code, dst, src, off, imm (struct bpf_insn, little endian). */
export function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8((src << 4) | dst, 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return [...b];
}

/** The hand-encoded instructions the kernel tests use (C1 owns the real assembler). */
export const asm = {
  /** rDst = imm (BPF_ALU64 | BPF_MOV | BPF_K) */
  movImm: (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm),
  /** rDst = rSrc (BPF_ALU64 | BPF_MOV | BPF_X) */
  movReg: (dst: number, src: number) => insn(0xbf, dst, src, 0, 0),
  /** rDst += imm */
  addImm: (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm),
  /** rDst = *(u64 *)(rSrc + off) */
  loadDw: (dst: number, src: number, off: number) => insn(0x79, dst, src, off, 0),
  /** *(u64 *)(rDst + off) = rSrc */
  storeDw: (dst: number, off: number, src: number) => insn(0x7b, dst, src, off, 0),
  /** *(u32 *)(rDst + off) = imm */
  storeImmW: (dst: number, off: number, imm: number) => insn(0x62, dst, 0, off, imm),
  /** lock *(u64 *)(rDst + off) += rSrc (BPF_STX | BPF_ATOMIC | BPF_DW, BPF_ADD) */
  atomicAddDw: (dst: number, off: number, src: number) => insn(0xdb, dst, src, off, 0),
  /** if rDst == imm goto +off */
  jeqImm: (dst: number, imm: number, off: number) => insn(0x15, dst, 0, off, imm),
  /** if rDst < imm goto +off (unsigned) */
  jltImm: (dst: number, imm: number, off: number) => insn(0xa5, dst, 0, off, imm),
  /** rDst = map fd (two slots, BPF_PSEUDO_MAP_FD) */
  loadMapFd: (dst: number, fd: number) => [...insn(0x18, dst, 1, 0, fd), ...insn(0, 0, 0, 0, 0)],
  call: (helper: number) => insn(0x85, 0, 0, 0, helper),
  exit: () => insn(0x95, 0, 0, 0, 0),
};

/** Helper ids (enum bpf_func_id). */
export const Helper = {
  mapLookupElem: 1,
  getCurrentPidTgid: 14,
  ringbufOutput: 130,
  ringbufReserve: 131,
  ringbufSubmit: 132,
} as const;

export function program(...slots: number[][]): Uint8Array {
  return Uint8Array.from(slots.flat());
}
