// The tracepoint catalog's shape: what tracefs events/*/*/format says about each event.

export interface TracepointField {
  name: string;
  /** C type as tracefs prints it without the array suffix, e.g. "pid_t", "char", "__data_loc char[]". */
  cType: string;
  offset: number;
  size: number;
  signed: boolean;
  /** Element count for fixed arrays (`char comm[16]` → 16); undefined for scalars. */
  arrayLength?: number;
  /** True for `__data_loc` dynamic fields (the value is a u32 offset<<0 | length<<16 locator). */
  dataLoc?: boolean;
  /** True for the common_* header fields shared by every event. */
  common: boolean;
}

export interface Tracepoint {
  category: string;
  name: string;
  id: number;
  fields: TracepointField[];
}

export interface Catalog {
  /** Where it came from: "tracefs:/sys/kernel/tracing", "bundled:linux-6.18", or a file path. */
  source: string;
  /** `uname -r` of the kernel it describes, when known. */
  kernelRelease?: string;
  tracepoints: Tracepoint[];
}
