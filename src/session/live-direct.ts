// User space's side of the set-associative pending table (src/compiler/bpf/codegen-direct.ts):
// the array map mmap-ed, slots read in place; the timeout sweep claims a slot with the same
// cmpxchg protocol as the programs' ends, so an end and the sweep never both report one begin.

import { type DirectLayout, SlotStatus } from "../compiler/bpf/layout.ts";
import { KernelError } from "../kernel/errors.ts";
import {
  lastErrno,
  MAP_FAILED,
  MAP_SHARED,
  native,
  PROT_READ,
  PROT_WRITE,
  viewOf,
} from "../kernel/libc.ts";

export interface ClaimedBegin {
  key: Uint8Array;
  value: Uint8Array;
}

export class DirectTable {
  private readonly ptr: bigint;
  private readonly length: number;
  private readonly bytes: Uint8Array;
  private readonly words: BigInt64Array;
  /** The same memory as 32-bit words: the status bits are in the low word, read without BigInts. */
  private readonly halves: Int32Array;
  private closed = false;

  constructor(
    fd: number,
    private readonly layout: DirectLayout,
    private readonly keySize: number,
    private readonly valueSize: number,
  ) {
    const libc = native();
    const page = libc.getpagesize();
    this.length = Math.ceil((layout.buckets * layout.bucketSize) / page) * page;
    this.ptr = libc.mmap(null, this.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (this.ptr === MAP_FAILED) throw new KernelError(`mmap pending table fd ${fd}`, lastErrno());
    const buffer = viewOf(this.ptr, this.length);
    this.bytes = new Uint8Array(buffer);
    this.words = new BigInt64Array(buffer);
    this.halves = new Int32Array(buffer);
  }

  /** Slots holding a begin (ready, or being written or claimed right now). */
  pendingCount(): number {
    const halves = this.halves;
    const { buckets, ways, bucketSize, firstSlot, slotSize } = this.layout;
    const [bucketStride, slotStride] = [bucketSize >> 2, slotSize >> 2];
    let n = 0;
    for (let b = 0, first = firstSlot >> 2; b < buckets; b++, first += bucketStride) {
      const end = first + ways * slotStride;
      for (let at = first; at < end; at += slotStride)
        if ((halves[at] & 3) !== SlotStatus.free) n++;
    }
    return n;
  }

  /**
   * Claims every ready begin whose timestamp (at `tsOffset` in the value) is older than
   * nowNs - timeoutNs, copies it out and frees the slot. Cost: one pass over the mapping.
   */
  sweep(nowNs: bigint, timeoutNs: bigint, tsOffset: number): ClaimedBegin[] {
    const out: ClaimedBegin[] = [];
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset);
    const halves = this.halves;
    const { buckets, ways, bucketSize, firstSlot, slotSize, value } = this.layout;
    const [bucketStride, slotStride] = [bucketSize >> 2, slotSize >> 2];
    // A plain aligned 32-bit read is atomic on x86: scan without Atomics, claim with them.
    for (let b = 0, first = firstSlot >> 2; b < buckets; b++, first += bucketStride) {
      const end = first + ways * slotStride;
      for (let at = first; at < end; at += slotStride) {
        if ((halves[at] & 3) !== SlotStatus.ready) continue;
        const base = at << 2;
        const index = base >> 3;
        const state = Atomics.load(this.words, index);
        if ((state & 3n) !== BigInt(SlotStatus.ready)) continue;
        const ts = view.getBigUint64(base + value + tsOffset, true);
        if (nowNs - ts <= timeoutNs) continue;
        // ready → busy, same generation: the programs' end does the same, one of us wins
        if (Atomics.compareExchange(this.words, index, state, state - 1n) !== state) continue;
        out.push({
          key: this.bytes.slice(base + 8, base + 8 + this.keySize),
          value: this.bytes.slice(base + value, base + value + this.valueSize),
        });
        Atomics.store(this.words, index, state - 2n);
      }
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().munmap(this.ptr, this.length);
  }
}
