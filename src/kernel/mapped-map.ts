// A BPF map created BPF_F_MMAPABLE (an ARRAY), mapped into user space: its memory read and
// written in place, shared with the programs. The pending and chain tables' readers use it.

import { KernelError } from "./errors.ts";
import {
  lastErrno,
  MAP_FAILED,
  MAP_SHARED,
  native,
  PROT_READ,
  PROT_WRITE,
  viewOf,
} from "./libc.ts";

export class MappedMap {
  private readonly ptr: bigint;
  private readonly length: number;
  /** The map's memory (whole pages: `bytes` rounded up). */
  readonly buffer: ArrayBuffer;
  private closed = false;

  /** Maps the first `bytes` of map fd `fd`; `what` names it in an error. */
  constructor(fd: number, bytes: number, what: string) {
    const libc = native();
    const page = libc.getpagesize();
    this.length = Math.ceil(bytes / page) * page;
    this.ptr = libc.mmap(null, this.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (this.ptr === MAP_FAILED) throw new KernelError(`mmap ${what} fd ${fd}`, lastErrno());
    this.buffer = viewOf(this.ptr, this.length);
  }

  /** Unmaps; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().munmap(this.ptr, this.length);
  }
}
