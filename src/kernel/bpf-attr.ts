// The raw bpf(2) call: `union bpf_attr` built in native scratch memory (the kernel follows
// the pointers in it, so they must not move), names, C strings.

import { NativeMemory, SYS, sys } from "./libc.ts";

/** enum bpf_cmd */
export const Cmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17,
  MAP_LOOKUP_BATCH: 24,
} as const;

/** BPF_OBJ_NAME_LEN: names are truncated to 15 bytes plus the NUL. */
export const BPF_OBJ_NAME_LEN = 16;
/** Bytes of bpf_attr we pass; the kernel requires bytes past what it knows to be zero. */
export const ATTR_SIZE = 160;

// One scratch area for attr and small keys/values: calls are synchronous and JS is
// single-threaded, so it is never shared by two calls at once.
export const SCRATCH_SIZE = 64 * 1024;
const ATTR_OFF = 0;
export const KEY_OFF = 256;
let scratch: NativeMemory | null = null;

function scratchMemory(): NativeMemory {
  scratch ??= NativeMemory.alloc(SCRATCH_SIZE);
  return scratch;
}

export function freshAttr(): NativeMemory {
  const mem = scratchMemory();
  mem.bytes.fill(0, ATTR_OFF, ATTR_OFF + ATTR_SIZE);
  return mem;
}

export function bpf(cmd: number, mem: NativeMemory): number {
  return sys(SYS.bpf, cmd, mem.ptr + BigInt(ATTR_OFF), ATTR_SIZE);
}

export function writeName(mem: NativeMemory, offset: number, name: string): void {
  const bytes = Buffer.from(name.replace(/[^A-Za-z0-9_.]/g, "_"), "ascii");
  mem.bytes.set(bytes.subarray(0, BPF_OBJ_NAME_LEN - 1), offset);
}

export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("utf8");
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}
