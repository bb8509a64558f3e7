// User space's side of a chain tracker's tables (src/compiler/bpf/chain-layout.ts), mmap-ed:
// the chain table, for the pending count (chains alive) and the timeout sweep, which releases
// a chain's slot with the same cmpxchg as the programs' ends, so that an ending branch and
// the sweep never both report one chain; and the token table, whose tokens the sweep reads
// and whose holders it frees (holder → 0 by cmpxchg, as the programs' removals).

import { ChainValue, Token, TokenHolders } from "../compiler/bpf/chain-layout.ts";
import type { ChainTableLayout } from "../compiler/bpf/layout.ts";
import { MappedMap } from "../kernel/mapped-map.ts";

/** A token in the token table: its holder's key, where that key is, and the token's bytes (a copy). */
export interface HeldToken {
  holder: bigint;
  /** Index of the holder's key in the holders' words. */
  at: number;
  token: Uint8Array;
}

/** The map fds of a chain tracker's tables. */
export interface ChainTableFds {
  chains: number;
  holders: number;
  tokens: number;
}

export class ChainTable {
  private readonly mapped: MappedMap[];
  private readonly words: BigUint64Array;
  private readonly holders: BigUint64Array;
  private readonly tokens: Uint8Array;

  /** Maps the chain table and the token table laid out as `layout`. */
  constructor(
    fds: ChainTableFds,
    private readonly layout: ChainTableLayout,
  ) {
    const t = layout.tokens;
    const chains = new MappedMap(fds.chains, layout.buckets * layout.bucketSize, "chain table");
    const holders = new MappedMap(fds.holders, t.buckets * t.bucketSize, "token holders");
    const slots = t.buckets * t.ways * t.tokenSize;
    const tokens = new MappedMap(fds.tokens, slots, "tokens");
    this.mapped = [chains, holders, tokens];
    this.words = new BigUint64Array(chains.buffer);
    this.holders = new BigUint64Array(holders.buffer);
    this.tokens = new Uint8Array(tokens.buffer, 0, slots);
  }

  /** Chains alive: slots holding a chain id. */
  pendingCount(): number {
    const stride = this.layout.slotSize / 8;
    const end = (this.layout.buckets * this.layout.bucketSize) / 8;
    let n = 0;
    for (let at = ChainValue.id / 8; at < end; at += stride) if (this.words[at] !== 0n) n++;
    return n;
  }

  /** Every token held now, each copied (the programs go on writing the table). */
  heldTokens(): HeldToken[] {
    const { buckets, ways, bucketSize, tokenSize } = this.layout.tokens;
    const out: HeldToken[] = [];
    for (let bucket = 0; bucket < buckets; bucket++) {
      for (let way = 0; way < ways; way++) {
        const at = (bucket * bucketSize + TokenHolders.keys + way * 8) / 8;
        const holder = this.holders[at];
        if (holder === 0n) continue;
        const from = (bucket * ways + way) * tokenSize;
        out.push({ holder, at, token: this.tokens.slice(from, from + tokenSize) });
      }
    }
    return out;
  }

  /** Frees the holder's slot, unless it holds another key already (freed and taken meanwhile). */
  removeToken(held: HeldToken): void {
    Atomics.compareExchange(this.holders, held.at, held.holder, 0n);
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
    for (const m of this.mapped) m.close();
  }
}
