// Attaching a BPF program (BPF_PROG_TYPE_KPROBE; its context is struct pt_regs) to a uprobe,
// a uretprobe or a USDT probe through the uprobe PMU: perf_event_open with the PMU's type,
// config1 = the path, config2 = the file offset, the `retprobe` bit and the semaphore's
// `ref_ctr_offset` placed where the PMU's format/ directory says.
//
// System-wide: one event with pid -1 on CPU 0 (pid -1 with cpu -1 is refused). Such an event
// has no target task, so the uprobe's perf filter accepts every process that maps the file,
// including ones started later, and the program, attached to the probe's trace event, runs
// on whichever CPU hits it (the kernel test pins the workload to another CPU to prove it).
// The kernel raises a USDT semaphore in every process mapping the file while the event
// exists, and lowers it when the fd is closed: nothing outlives the process.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EINVAL, ENOENT, KernelError, permissionHint } from "./errors.ts";
import { NativeMemory } from "./libc.ts";
import { type Attachment, attachPerfEvent } from "./perf.ts";

export const UPROBE_PMU_DIR = "/sys/bus/event_source/devices/uprobe";

export interface UprobeTarget {
  /** The binary or library; the kernel resolves it to an inode at attach time. */
  path: string;
  /** File offset of the probed instruction (not its virtual address). */
  fileOffset: number;
  /** A uretprobe: run when the function containing fileOffset returns. */
  retprobe?: boolean;
  /** File offset of a USDT semaphore (unsigned short) to raise while attached; 0: none. */
  refCtrOffset?: number;
}

/** A field of perf_event_attr.config as the PMU's format/ file states it ("config:32-63"). */
export interface ConfigField {
  shift: number;
  bits: number;
}

export interface UprobePmu {
  type: number;
  retprobe: ConfigField;
  /** Absent on kernels before 4.20: semaphores cannot be raised. */
  refCtrOffset?: ConfigField;
}

let cachedPmu: UprobePmu | null = null;

/** The uprobe PMU's type and config layout, read once from sysfs. */
export function uprobePmu(dir = UPROBE_PMU_DIR): UprobePmu {
  if (dir === UPROBE_PMU_DIR && cachedPmu !== null) return cachedPmu;
  let type: number;
  try {
    type = Number(readFileSync(join(dir, "type"), "utf8").trim());
  } catch {
    throw new KernelError(
      "find the uprobe PMU",
      ENOENT,
      `${dir} is missing: this kernel lacks CONFIG_UPROBE_EVENTS`,
    );
  }
  const field = (name: string) => {
    try {
      return parseConfigField(readFileSync(join(dir, "format", name), "utf8"));
    } catch {
      return undefined;
    }
  };
  const pmu = {
    type,
    retprobe: field("retprobe") ?? { shift: 0, bits: 1 },
    ...optional("refCtrOffset", field("ref_ctr_offset")),
  };
  if (dir === UPROBE_PMU_DIR) cachedPmu = pmu;
  return pmu;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** "config:32-63" → shift 32, 32 bits; "config:0" → shift 0, 1 bit; undefined otherwise. */
export function parseConfigField(text: string): ConfigField | undefined {
  const match = /^config:(\d+)(?:-(\d+))?\s*$/.exec(text.trim());
  if (match === null) return undefined;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return { shift: from, bits: to - from + 1 };
}

/** perf_event_attr.config for a target: the retprobe bit and the semaphore offset. */
export function uprobeConfig(pmu: UprobePmu, target: UprobeTarget): bigint {
  let config = target.retprobe ? 1n << BigInt(pmu.retprobe.shift) : 0n;
  const refCtr = target.refCtrOffset ?? 0;
  if (refCtr !== 0) {
    if (pmu.refCtrOffset === undefined)
      throw new KernelError(
        `raise the USDT semaphore of ${target.path}`,
        EINVAL,
        "this kernel's uprobe PMU has no ref_ctr_offset (Linux 4.20 or later is needed)",
      );
    const mask = (1n << BigInt(pmu.refCtrOffset.bits)) - 1n;
    config |= (BigInt(refCtr) & mask) << BigInt(pmu.refCtrOffset.shift);
  }
  return config;
}

/** Runs progFd each time any process executes the instruction at target (or returns). */
export function attachUprobe(progFd: number, target: UprobeTarget): Attachment {
  const pmu = uprobePmu();
  const config = uprobeConfig(pmu, target);
  const kind = target.retprobe ? "uretprobe" : "uprobe";
  const where = `${kind} ${target.path}:0x${target.fileOffset.toString(16)}`;
  const path = Buffer.from(`${target.path}\0`, "utf8");
  const pathMemory = NativeMemory.alloc(path.length);
  try {
    pathMemory.bytes.set(path);
    return attachPerfEvent(
      progFd,
      where,
      (attr) => {
        attr.setUint32(0, pmu.type, true);
        attr.setBigUint64(8, config, true);
        attr.setBigUint64(56, pathMemory.ptr, true); // config1: uprobe_path
        attr.setBigUint64(64, BigInt(target.fileOffset), true); // config2: probe_offset
      },
      (errno) => uprobeHint(errno, target),
    );
  } finally {
    pathMemory.free();
  }
}

function uprobeHint(errno: number, target: UprobeTarget): string {
  const permission = permissionHint(errno);
  if (permission !== "") return permission;
  if (errno === ENOENT) return `${target.path} does not exist (any more)`;
  if (errno === EINVAL)
    return target.refCtrOffset
      ? "the kernel refused the probe or its semaphore offset (another tracer may hold this probe with a different semaphore)"
      : "the kernel refused the probe: is the offset the start of an instruction in an executable segment?";
  return "";
}
