// The bpf(2) syscall: create maps, load programs (with the verifier log on refusal) and
// read/write map elements. `union bpf_attr` is built by hand at the offsets of linux/bpf.h.

import { readFileSync } from "node:fs";
import { release } from "node:os";
import {
  align8,
  BPF_OBJ_NAME_LEN,
  bpf,
  Cmd,
  cString,
  freshAttr,
  KEY_OFF,
  SCRATCH_SIZE,
  writeName,
} from "./bpf-attr.ts";
import {
  E2BIG,
  EAGAIN,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTSUPP,
  KernelError,
  permissionHint,
  VerifierError,
} from "./errors.ts";
import { closeRaw, kernelAtLeast, NativeMemory, raiseMemlockLimit } from "./libc.ts";

export { BpfMapFlag, BpfMapType, BpfProgType } from "./uapi-bpf.ts";
export { BPF_OBJ_NAME_LEN };

/** BPF_MAP_UPDATE_ELEM flags */
export const BpfUpdate = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

export interface MapSpec {
  /** ≤15 chars, e.g. "ltsh_pending"; shown by `bpftool map`. */
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

export interface ProgramSpec {
  /** ≤15 chars, "ltsh_..." so `bpftool prog` shows whose programs they are. */
  name: string;
  type: number;
  /** 8-byte instruction slots, already encoded, map fds patched. */
  insns: Uint8Array;
  license: string;
  /** Verifier log level of the first attempt (default 0: no log unless the load fails). */
  logLevel?: 0 | 1 | 2;
}

let memlockRaised = false;

export function createMap(spec: MapSpec): number {
  if (!memlockRaised) {
    memlockRaised = true;
    raiseMemlockLimit(release());
  }
  const mem = freshAttr();
  const v = mem.view;
  v.setUint32(0, spec.type, true);
  v.setUint32(4, spec.keySize, true);
  v.setUint32(8, spec.valueSize, true);
  v.setUint32(12, spec.maxEntries, true);
  v.setUint32(16, spec.flags ?? 0, true);
  writeName(mem, 28, spec.name);
  const fd = bpf(Cmd.MAP_CREATE, mem);
  if (fd >= 0) return fd;
  throw new KernelError(`create map ${spec.name}`, -fd, mapCreateHint(spec, -fd));
}

function mapCreateHint(spec: MapSpec, errno: number): string {
  if (errno === ENOMEM || errno === E2BIG) {
    const bytes = spec.maxEntries * (spec.keySize + spec.valueSize);
    return (
      `map ${spec.name} is too big for the kernel: capacity ${spec.maxEntries} entries ` +
      `(~${formatBytes(bytes)}); lower the capacity`
    );
  }
  return permissionHint(errno);
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return n >= 1 << 10 ? `${(n / (1 << 10)).toFixed(1)} KiB` : `${n} B`;
}

/** Loads a program; on refusal retries with a verifier log so the error always carries one. */
export function loadProgram(p: ProgramSpec): number {
  if (p.insns.length === 0 || p.insns.length % 8 !== 0) {
    throw new Error(`program ${p.name}: ${p.insns.length} bytes is not a whole number of insns`);
  }
  const first = tryLoad(p, p.logLevel ?? 0, p.logLevel ? 1 << 20 : 0);
  if (first.fd >= 0) return first.fd;
  // Refusals come back as EACCES or EINVAL, like a missing privilege would: only the
  // verifier's log tells them apart, so ask again with one (growing it on ENOSPC).
  let last = first;
  if (first.log === "") {
    for (const size of [1 << 20, 16 << 20]) {
      last = tryLoad(p, p.logLevel || 1, size);
      if (last.fd >= 0) return last.fd; // a flaky first refusal: keep the program
      if (last.log !== "" && last.errno !== ENOSPC) break;
    }
  }
  if (last.log !== "") throw new VerifierError(p.name, last.errno, last.log);
  throw new KernelError(`load program ${p.name}`, last.errno, permissionHint(last.errno));
}

/**
 * The verifier gives up with EAGAIN when a signal arrives while it works (a profiler's
 * SIGPROF, a child's SIGCHLD, a terminal's SIGWINCH): that is no refusal, so load again,
 * a few times as libbpf does, before reading it as one.
 */
const SIGNAL_RETRIES = 5;

function tryLoad(p: ProgramSpec, logLevel: number, logSize: number) {
  let result = tryLoadOnce(p, logLevel, logSize);
  for (let i = 0; i < SIGNAL_RETRIES && result.errno === EAGAIN; i++) {
    result = tryLoadOnce(p, logLevel, logSize);
  }
  return result;
}

function tryLoadOnce(p: ProgramSpec, logLevel: number, logSize: number) {
  const insns = NativeMemory.alloc(p.insns.length);
  const license = NativeMemory.alloc(p.license.length + 1);
  const log = logSize > 0 ? NativeMemory.alloc(logSize) : null;
  try {
    insns.bytes.set(p.insns);
    license.bytes.set(Buffer.from(p.license, "ascii"));
    const mem = freshAttr();
    const v = mem.view;
    v.setUint32(0, p.type, true);
    v.setUint32(4, p.insns.length / 8, true);
    v.setBigUint64(8, insns.ptr, true);
    v.setBigUint64(16, license.ptr, true);
    if (log !== null) {
      v.setUint32(24, logLevel, true);
      v.setUint32(28, logSize, true);
      v.setBigUint64(32, log.ptr, true);
    }
    writeName(mem, 48, p.name);
    const fd = bpf(Cmd.PROG_LOAD, mem);
    return { fd, errno: fd < 0 ? -fd : 0, log: log === null ? "" : cString(log.bytes) };
  } finally {
    insns.free();
    license.free();
    log?.free();
  }
}

/** Fills the ELEM attr (map_fd, key, value/next_key, flags) with key/value in scratch. */
function elemAttr(fd: number, key: Uint8Array | null, valueSize: number, flags = 0) {
  const valueOff = KEY_OFF + align8(key?.length ?? 0);
  if (valueOff + valueSize > SCRATCH_SIZE) {
    return elemAttrLarge(fd, key, valueSize, flags);
  }
  const mem = freshAttr();
  const v = mem.view;
  v.setUint32(0, fd, true);
  if (key !== null) {
    mem.bytes.set(key, KEY_OFF);
    v.setBigUint64(8, mem.ptr + BigInt(KEY_OFF), true);
  }
  v.setBigUint64(16, mem.ptr + BigInt(valueOff), true);
  v.setBigUint64(24, BigInt(flags), true);
  return { mem, value: mem.bytes.subarray(valueOff, valueOff + valueSize), release() {} };
}

/** Large per-CPU values do not fit the scratch area: give them their own allocation. */
function elemAttrLarge(fd: number, key: Uint8Array | null, valueSize: number, flags: number) {
  const data = NativeMemory.alloc(align8(key?.length ?? 0) + valueSize);
  const valueOff = align8(key?.length ?? 0);
  const mem = freshAttr();
  const v = mem.view;
  v.setUint32(0, fd, true);
  if (key !== null) {
    data.bytes.set(key, 0);
    v.setBigUint64(8, data.ptr, true);
  }
  v.setBigUint64(16, data.ptr + BigInt(valueOff), true);
  v.setBigUint64(24, BigInt(flags), true);
  const value = data.bytes.subarray(valueOff, valueOff + valueSize);
  return { mem, value, release: () => data.free() };
}

/** The value for key (a copy), or null when absent. Per-CPU maps: see percpuValueSize. */
export function mapLookup(fd: number, key: Uint8Array, valueSize: number): Uint8Array | null {
  const attr = elemAttr(fd, key, valueSize);
  try {
    const r = bpf(Cmd.MAP_LOOKUP_ELEM, attr.mem);
    if (r === -ENOENT) return null;
    if (r < 0) throw new KernelError(`lookup in map fd ${fd}`, -r, permissionHint(-r));
    return attr.value.slice();
  } finally {
    attr.release();
  }
}

export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  const attr = elemAttr(fd, key, value.length, flags);
  try {
    attr.value.set(value);
    const r = bpf(Cmd.MAP_UPDATE_ELEM, attr.mem);
    if (r < 0) throw new KernelError(`update map fd ${fd}`, -r, permissionHint(-r));
  } finally {
    attr.release();
  }
}

/** Deletes key; false when it was not there. */
export function mapDelete(fd: number, key: Uint8Array): boolean {
  const attr = elemAttr(fd, key, 0);
  attr.mem.view.setBigUint64(16, 0n, true); // DELETE_ELEM wants nothing past the key
  const r = bpf(Cmd.MAP_DELETE_ELEM, attr.mem);
  if (r === -ENOENT) return false;
  if (r < 0) throw new KernelError(`delete from map fd ${fd}`, -r, permissionHint(-r));
  return true;
}

/** The key after `key` (the first key when null); null at the end of the map. */
export function mapNextKey(fd: number, key: Uint8Array | null, keySize: number): Uint8Array | null {
  const attr = elemAttr(fd, key, keySize);
  try {
    const r = bpf(Cmd.MAP_GET_NEXT_KEY, attr.mem);
    if (r === -ENOENT) return null;
    if (r < 0) throw new KernelError(`iterate map fd ${fd}`, -r, permissionHint(-r));
    return attr.value.slice();
  } finally {
    attr.release();
  }
}

/** Every key of a map, in the kernel's iteration order. */
export function mapKeys(fd: number, keySize: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let k = mapNextKey(fd, null, keySize); k !== null; k = mapNextKey(fd, k, keySize)) {
    keys.push(k);
  }
  return keys;
}

export interface MapEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** Entries fetched per BPF_MAP_LOOKUP_BATCH call (grown when a hash bucket holds more). */
const BATCH_ENTRIES = 256;
let batchSupported = true;

/**
 * Every entry of a map (copies), in few syscalls: BPF_MAP_LOOKUP_BATCH where the kernel
 * has it, else next-key + lookup per entry. Per-CPU maps: valueSize = percpuValueSize(...).
 */
export function mapEntries(fd: number, keySize: number, valueSize: number): MapEntry[] {
  if (batchSupported) {
    const entries = lookupBatch(fd, keySize, valueSize);
    if (entries !== null) return entries;
    batchSupported = false;
  }
  const entries: MapEntry[] = [];
  for (let k = mapNextKey(fd, null, keySize); k !== null; k = mapNextKey(fd, k, keySize)) {
    const value = mapLookup(fd, k, valueSize);
    if (value !== null) entries.push({ key: k, value });
  }
  return entries;
}

/** null when the kernel or map type has no batch lookup (EINVAL, ENOTSUPP). */
function lookupBatch(fd: number, keySize: number, valueSize: number): MapEntry[] | null {
  const entries: MapEntry[] = [];
  let capacity = BATCH_ENTRIES;
  // in_batch/out_batch are opaque tokens (a bucket index for hashes, a key for arrays).
  const tokens = NativeMemory.alloc(2 * Math.max(keySize, 8));
  const tokenSize = Math.max(keySize, 8);
  let first = true;
  try {
    for (;;) {
      const keys = NativeMemory.alloc(capacity * keySize);
      const values = NativeMemory.alloc(capacity * valueSize);
      try {
        const mem = freshAttr();
        const v = mem.view;
        v.setBigUint64(0, first ? 0n : tokens.ptr, true);
        v.setBigUint64(8, tokens.ptr + BigInt(tokenSize), true);
        v.setBigUint64(16, keys.ptr, true);
        v.setBigUint64(24, values.ptr, true);
        v.setUint32(32, capacity, true);
        v.setUint32(36, fd, true);
        const r = bpf(Cmd.MAP_LOOKUP_BATCH, mem);
        const count = v.getUint32(32, true);
        if (r < 0 && r !== -ENOENT && r !== -ENOSPC) {
          if (first && (r === -EINVAL || r === -ENOTSUPP)) return null;
          throw new KernelError(`read map fd ${fd}`, -r, permissionHint(-r));
        }
        if (r === -ENOSPC && count === 0) {
          capacity *= 4; // one bucket holds more than fits: retry the same batch, bigger
          continue;
        }
        for (let i = 0; i < count; i++) {
          entries.push({
            key: keys.bytes.slice(i * keySize, (i + 1) * keySize),
            value: values.bytes.slice(i * valueSize, (i + 1) * valueSize),
          });
        }
        if (r === -ENOENT) return entries; // that was the last batch
        tokens.bytes.copyWithin(0, tokenSize, 2 * tokenSize);
        first = false;
      } finally {
        keys.free();
        values.free();
      }
    }
  } finally {
    tokens.free();
  }
}

let cpuCount: number | null = null;

/** Number of possible CPUs (the per-CPU value count), from /sys/devices/system/cpu/possible. */
export function possibleCpus(): number {
  cpuCount ??= countCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));
  return cpuCount;
}

/** "0-3,8,10-11" → 7 */
export function countCpuList(list: string): number {
  let n = 0;
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [lo, hi] = part.split("-").map(Number);
    n += hi === undefined ? 1 : hi - lo + 1;
  }
  return n;
}

/** Bytes a lookup in a per-CPU map returns for one element. */
export function percpuValueSize(valueSize: number): number {
  return align8(valueSize) * possibleCpus();
}

/** Bytes of bpf_prog_info / bpf_map_info we offer; the kernel fills what it knows. */
const INFO_SIZE = 256;
/** bpf_prog_info.recursion_misses (linux/bpf.h), a u64; Linux 5.12 and later. */
const PROG_INFO_RECURSION_MISSES = 208;

/** BPF_OBJ_GET_INFO_BY_FD: the info struct of a program or map, as long as the kernel's is. */
function objectInfo(fd: number): DataView {
  const info = NativeMemory.alloc(INFO_SIZE);
  try {
    const mem = freshAttr();
    mem.view.setUint32(0, fd, true);
    mem.view.setUint32(4, INFO_SIZE, true);
    mem.view.setBigUint64(8, info.ptr, true);
    const r = bpf(Cmd.OBJ_GET_INFO_BY_FD, mem);
    if (r < 0) throw new KernelError(`get info of fd ${fd}`, -r);
    // info_len comes back as the bytes the kernel wrote: older kernels know fewer fields
    const written = Math.min(mem.view.getUint32(4, true), INFO_SIZE);
    return new DataView(info.bytes.slice(0, written).buffer);
  } finally {
    info.free();
  }
}

/** The kernel's id of a program or map (as `bpftool prog show id N` lists it). */
export function objectId(fd: number): number {
  // bpf_prog_info and bpf_map_info both start with type (u32) then id (u32).
  return objectInfo(fd).getUint32(4, true);
}

/**
 * Runs of a program the kernel skipped because a BPF program was already running on that
 * CPU (its tracepoint fired while another tracing program ran there): events the program
 * never saw. null before Linux 5.12, which has no such counter. Before 6.7 the counter
 * exists but a tracepoint or uprobe attached through perf never adds to it (see
 * countsSkippedRuns): it stays 0.
 */
export function programRecursionMisses(fd: number): number | null {
  const info = objectInfo(fd);
  if (info.byteLength < PROG_INFO_RECURSION_MISSES + 8) return null;
  return Number(info.getBigUint64(PROG_INFO_RECURSION_MISSES, true));
}

/**
 * Whether a kernel of this release (`uname -r`) counts the runs it skips of a program
 * attached through perf, as ltsh attaches its tracepoint and uprobe programs: trace_call_bpf
 * counts them in recursion_misses since Linux 6.7 ("bpf: Count missed stats in
 * trace_call_bpf"). Before, an event that fires while another BPF program runs on its CPU
 * (an IRQ arriving in a syscall's program) is lost to ltsh unseen. A distribution kernel
 * may carry the change back: then this says false where the count is kept.
 */
export function countsSkippedRuns(kernelRelease: string): boolean {
  return kernelAtLeast(kernelRelease, 6, 7);
}

/**
 * Attaches a BPF_PROG_TYPE_RAW_TRACEPOINT program to the tracepoint `name` (without its
 * category: "sched_switch") with BPF_RAW_TRACEPOINT_OPEN. The program gets the tracepoint's
 * raw arguments, and the kernel skips the perf path that fills the event's record for a
 * tracepoint program. Returns the link's fd: closing it detaches the program.
 */
export function openRawTracepoint(name: string, progFd: number): number {
  const mem = freshAttr();
  const bytes = Buffer.from(name, "ascii");
  mem.bytes.set(bytes, KEY_OFF);
  mem.bytes[KEY_OFF + bytes.length] = 0;
  mem.view.setBigUint64(0, mem.ptr + BigInt(KEY_OFF), true);
  mem.view.setUint32(8, progFd, true);
  const fd = bpf(Cmd.RAW_TRACEPOINT_OPEN, mem);
  if (fd >= 0) return fd;
  const hint =
    -fd === ENOENT ? "no such tracepoint (see /sys/kernel/tracing/available_events)" : "";
  throw new KernelError(`attach raw tracepoint ${name}`, -fd, hint || permissionHint(-fd));
}

export function closeFd(fd: number): void {
  if (fd >= 0) closeRaw(fd);
}
