// Constants of linux/bpf.h that both the code generator and the bpf(2) layer use. No FFI
// here, so the compiler can name map and program types without loading koffi.

/** enum bpf_map_type */
export const BpfMapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  RINGBUF: 27,
} as const;

/** enum bpf_prog_type */
export const BpfProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  TRACEPOINT: 5,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
} as const;

/** BPF_MAP_CREATE map_flags */
export const BpfMapFlag = {
  /** BPF_F_NO_PREALLOC: hash elements allocated on update (not NMI-safe; avoid in tracing). */
  NO_PREALLOC: 1,
  /** BPF_F_RDONLY_PROG: the program may only read the map. */
  RDONLY_PROG: 128,
  /** BPF_F_MMAPABLE: an ARRAY map userspace can mmap. */
  MMAPABLE: 1024,
} as const;
