// BPF helper function ids (include/uapi/linux/bpf.h, ___BPF_FUNC_MAPPER order) used by the
// codegen; the disassembler prints helpers, and the listing map types, by these names.

import { BpfMapType } from "../../kernel/uapi-bpf.ts";

export const Helper = {
  map_lookup_elem: 1, // (map, key) → value pointer or NULL
  map_update_elem: 2, // (map, key, value, flags) → 0 or -errno
  map_delete_elem: 3, // (map, key) → 0 or -ENOENT
  ktime_get_ns: 5, // CLOCK_MONOTONIC ns, the tracefs "mono" clock
  get_smp_processor_id: 8,
  get_current_pid_tgid: 14, // tgid << 32 | tid
  get_current_uid_gid: 15, // gid << 32 | uid
  get_current_comm: 16, // (buf, size) → NUL-padded task comm
  get_stackid: 27, // (ctx, stack map, flags) → id or -errno
  get_current_cgroup_id: 80,
  get_current_task_btf: 158, // trusted task_struct pointer: fields read with plain loads
  probe_read_kernel: 113, // (dst, size, unsafe src)
  probe_read_kernel_str: 115,
  probe_read_user: 112, // (dst, size, unsafe user src); dst zeroed on a fault
  probe_read_user_str: 114, // (dst, size, unsafe user src) → length with the NUL, or -errno
  ringbuf_output: 130,
  ringbuf_reserve: 131, // (ringbuf, size, 0) → record pointer or NULL when full
  ringbuf_submit: 132, // (record, flags)
  ringbuf_discard: 133, // (record, flags)
} as const;

export type HelperName = keyof typeof Helper;

const helperNames = new Map<number, string>(Object.entries(Helper).map(([n, id]) => [id, n]));

export function helperName(id: number): string {
  return helperNames.get(id) ?? `helper_${id}`;
}

export const mapTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(BpfMapType).map(([n, id]) => [id, n.toLowerCase()]),
);

/** bpf_map_update_elem flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;

/** BPF_PROG_TYPE_TRACEPOINT */
export const PROG_TYPE_TRACEPOINT = 5;
/** BPF_PROG_TYPE_KPROBE: uprobes and uretprobes too (the context is struct pt_regs). */
export const PROG_TYPE_KPROBE = 2;

export const EEXIST = 17;
