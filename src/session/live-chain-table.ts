// User space's side of a chain tracker's chain table (src/compiler/bpf/chain-layout.ts): the
// array map mmap-ed, for the pending count (chains alive) and the timeout sweep, which
// releases a chain's slot with the same cmpxchg as the programs' ends, so that an ending
// branch and the sweep never both report one chain.

import { ChainValue, Token } from "../compiler/bpf/chain-layout.ts";
import type { ChainTableLayout } from "../compiler/bpf/layout.ts";
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

export class ChainTable {
  private readonly ptr: bigint;
  private readonly length: number;
  private readonly words: BigUint64Array;
  private closed = false;

  /** Maps the chain table (map fd `fd`) laid out as `layout`. */
  constructor(
    fd: number,
    private readonly layout: ChainTableLayout,
  ) {
    const libc = native();
    const page = libc.getpagesize();
    this.length = Math.ceil((layout.buckets * layout.bucketSize) / page) * page;
    this.ptr = libc.mmap(null, this.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (this.ptr === MAP_FAILED) throw new KernelError(`mmap chain table fd ${fd}`, lastErrno());
    this.words = new BigUint64Array(viewOf(this.ptr, this.length));
  }

  /** Chains alive: slots holding a chain id. */
  pendingCount(): number {
    const stride = this.layout.slotSize / 8;
    const end = (this.layout.buckets * this.layout.bucketSize) / 8;
    let n = 0;
    for (let at = ChainValue.id / 8; at < end; at += stride) if (this.words[at] !== 0n) n++;
    return n;
  }

  /**
   * Releases the slot of the chain of `token` (a token's bytes): true for the one caller
   * that did, false when the chain had ended already (a branch, or another sweep, won).
   */
  release(token: Uint8Array): boolean {
    const v = new DataView(token.buffer, token.byteOffset, token.byteLength);
    const id = v.getBigUint64(Token.chain, true);
    const at = v.getUint32(Token.chainAt, true);
    const { ways, bucketSize, slotSize } = this.layout;
    const bucket = at >>> 4;
    const way = at & (ways - 1);
    if (bucket >= this.layout.buckets) return false;
    const index = (bucket * bucketSize + way * slotSize + ChainValue.id) / 8;
    return Atomics.compareExchange(this.words, index, id, 0n) === id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().munmap(this.ptr, this.length);
  }
}
