// User space's side of a chain tracker's chain table (src/compiler/bpf/chain-layout.ts): the
// array map mmap-ed, for the pending count (chains alive) and the timeout sweep, which
// releases a chain's slot with the same cmpxchg as the programs' ends, so that an ending
// branch and the sweep never both report one chain.

import { ChainValue, Token } from "../compiler/bpf/chain-layout.ts";
import type { ChainTableLayout } from "../compiler/bpf/layout.ts";
import { MappedMap } from "../kernel/mapped-map.ts";

export class ChainTable {
  private readonly mapped: MappedMap;
  private readonly words: BigUint64Array;

  /** Maps the chain table (map fd `fd`) laid out as `layout`. */
  constructor(
    fd: number,
    private readonly layout: ChainTableLayout,
  ) {
    this.mapped = new MappedMap(fd, layout.buckets * layout.bucketSize, "chain table");
    this.words = new BigUint64Array(this.mapped.buffer);
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
    this.mapped.close();
  }
}
