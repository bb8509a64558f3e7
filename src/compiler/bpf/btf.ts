// Offsets of task_struct's pid, tgid and comm from the kernel's BTF (/sys/kernel/btf/vmlinux),
// so that programs read the current task's context with plain loads through
// bpf_get_current_task_btf() instead of one helper call per field (get_current_comm costs
// ~60 ns here). A minimal reader of the BTF type section: only sizes and struct members.

import { readFileSync } from "node:fs";
import type { TaskOffsets } from "./layout.ts";

const BTF_MAGIC = 0xeb9f;
const KIND_STRUCT = 4;

/** Bytes after the 12-byte btf_type header, by kind (vlen = number of members/params/values). */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    default: // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
      return 0;
  }
}

/** Parses a BTF blob; null when it is not BTF or task_struct lacks one of the fields. */
export function parseTaskOffsets(btf: Uint8Array): TaskOffsets | null {
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (btf.byteLength < 24 || v.getUint16(0, true) !== BTF_MAGIC) return null;
  const hdrLen = v.getUint32(4, true);
  const typeStart = hdrLen + v.getUint32(8, true);
  const typeEnd = typeStart + v.getUint32(12, true);
  const strStart = hdrLen + v.getUint32(16, true);
  const strEnd = strStart + v.getUint32(20, true);
  const strings = Buffer.from(btf.buffer, btf.byteOffset + strStart, strEnd - strStart);
  const nameOff = (name: string) => {
    const at = strings.indexOf(`\0${name}\0`, 0, "latin1");
    return at < 0 ? -1 : at + 1;
  };
  const wanted = {
    task: nameOff("task_struct"),
    comm: nameOff("comm"),
    pid: nameOff("pid"),
    tgid: nameOff("tgid"),
  };
  if (Object.values(wanted).some((off) => off < 0)) return null;
  for (let at = typeStart; at + 12 <= typeEnd; ) {
    const name = v.getUint32(at, true);
    const info = v.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_STRUCT && name === wanted.task)
      return members(v, at + 12, vlen, info >>> 31, wanted);
    at += 12 + trailing(kind, vlen);
  }
  return null;
}

function members(
  v: DataView,
  at: number,
  vlen: number,
  kindFlag: number,
  wanted: { comm: number; pid: number; tgid: number },
): TaskOffsets | null {
  const found: Partial<TaskOffsets> = {};
  for (let i = 0; i < vlen; i++) {
    const m = at + i * 12;
    const name = v.getUint32(m, true);
    const raw = v.getUint32(m + 8, true);
    const bits = kindFlag ? raw & 0xffffff : raw;
    if (bits % 8 !== 0) continue;
    if (name === wanted.comm) found.comm = bits / 8;
    else if (name === wanted.pid) found.pid = bits / 8;
    else if (name === wanted.tgid) found.tgid = bits / 8;
  }
  const { comm, pid, tgid } = found;
  return comm !== undefined && pid !== undefined && tgid !== undefined ? { comm, pid, tgid } : null;
}

let cached: TaskOffsets | null | undefined;

/** This kernel's offsets, read once; null without BTF (the programs then use helpers). */
export function kernelTaskOffsets(path = "/sys/kernel/btf/vmlinux"): TaskOffsets | null {
  if (cached === undefined) {
    try {
      cached = parseTaskOffsets(readFileSync(path));
    } catch {
      cached = null;
    }
  }
  return cached;
}
