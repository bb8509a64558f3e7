// User space's side of the pending table (src/compiler/bpf/pending-table.ts), for the timeout
// sweep and the pending count. The set-associative table: the array map mmap-ed, slots read
// in place, an expired begin claimed with the same cmpxchg protocol as the programs' ends, so
// an end and the sweep never both report one begin. The HASH table: walked with bpf(2) calls,
// an expired begin deleted (only the deleter reports it).

import type { TrackerObject } from "../compiler/bpf/codegen.ts";
import { Ctx, nearOwnerOf, type SetAssociativeLayout, SlotStatus } from "../compiler/bpf/layout.ts";
import { mapDelete, mapLookup, mapNextKey } from "../kernel/bpf.ts";
import { MappedMap } from "../kernel/mapped-map.ts";

/** A begin taken out of the table by the sweep: its key and pending value, as the programs wrote them. */
export interface ClaimedBegin {
  key: Uint8Array;
  value: Uint8Array;
}

export interface PendingTableReader {
  /** Slots holding a begin (ready, or being written or claimed right now). */
  pendingCount(): number;
  /** Takes out and returns every begin older than nowNs - timeoutNs (CLOCK_MONOTONIC). */
  sweep(nowNs: bigint, timeoutNs: bigint): ClaimedBegin[];
  /** The begins the last sweep left pending, counted as it passed (null: not counted). */
  readonly sweptPending: number | null;
  close(): void;
}

/**
 * User space's reader of a plain tracker's pending table (map fd `fd`), as its layout names
 * it (a chain tracker's chain table is read by live-chain-table.ts).
 */
export function openPendingTable(object: TrackerObject, fd: number): PendingTableReader {
  const { table, key, pending } = object.layout;
  if (table.kind === "chains") throw new Error(`${object.layout.plan.name}: a chain table`);
  return table.kind === "hash"
    ? new HashTableReader(fd, key.size, pending.size)
    : new SetAssociativeTable(fd, table, key.size, pending.size);
}

class SetAssociativeTable implements PendingTableReader {
  private readonly mapped: MappedMap;
  private readonly bytes: Uint8Array;
  private readonly words: BigInt64Array;
  /** The same memory as 32-bit words: the status bits are in the low word, read without BigInts. */
  private readonly halves: Int32Array;

  constructor(
    fd: number,
    private readonly layout: SetAssociativeLayout,
    private readonly keySize: number,
    private readonly valueSize: number,
  ) {
    this.mapped = new MappedMap(fd, layout.buckets * layout.bucketSize, "pending table");
    const buffer = this.mapped.buffer;
    this.bytes = new Uint8Array(buffer);
    this.words = new BigInt64Array(buffer);
    this.halves = new Int32Array(buffer);
  }

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

  sweptPending: number | null = null;

  /**
   * Claims each expired ready begin, copies it out, frees the slot: one pass over the
   * mapping, which counts the begins left pending on the way (pendingCount() for free). A
   * far slot claimed lowers its near bucket's `overflow`, as the programs' end does.
   */
  sweep(nowNs: bigint, timeoutNs: bigint): ClaimedBegin[] {
    const out: ClaimedBegin[] = [];
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset);
    const halves = this.halves;
    const { buckets, ways, bucketSize, firstSlot, slotSize, value, nearBits } = this.layout;
    const [bucketStride, slotStride] = [bucketSize >> 2, slotSize >> 2];
    const firstFar = nearBits > 0 ? 1 << nearBits : buckets;
    let taken = 0;
    // A plain aligned 32-bit read is atomic on x86: scan without Atomics, claim with them.
    for (let b = 0, first = firstSlot >> 2; b < buckets; b++, first += bucketStride) {
      const end = first + ways * slotStride;
      for (let at = first; at < end; at += slotStride) {
        const status = halves[at] & 3;
        if (status !== SlotStatus.free) taken++;
        if (status !== SlotStatus.ready) continue;
        const base = at << 2;
        const index = base >> 3;
        const state = Atomics.load(this.words, index);
        if ((state & 3n) !== BigInt(SlotStatus.ready)) continue;
        const ts = view.getBigUint64(base + value + Ctx.ts, true);
        if (nowNs - ts <= timeoutNs) continue;
        // ready → busy, same generation: the programs' end does the same, one of us wins
        if (Atomics.compareExchange(this.words, index, state, state - 1n) !== state) continue;
        if (b >= firstFar) {
          const near = nearOwnerOf(this.layout, b);
          Atomics.sub(this.words, (near * bucketSize + this.layout.overflow) >> 3, 1n);
        }
        out.push({
          key: this.bytes.slice(base + 8, base + 8 + this.keySize),
          value: this.bytes.slice(base + value, base + value + this.valueSize),
        });
        Atomics.store(this.words, index, state - 2n);
      }
    }
    this.sweptPending = taken - out.length;
    return out;
  }

  close(): void {
    this.mapped.close();
  }
}

/** The HASH table: no mapping, so each count and sweep walks the keys (a bpf(2) call each). */
class HashTableReader implements PendingTableReader {
  constructor(
    private readonly fd: number,
    private readonly keySize: number,
    private readonly valueSize: number,
  ) {}

  pendingCount(): number {
    let n = 0;
    for (let k = mapNextKey(this.fd, null, this.keySize); k !== null; n++) {
      k = mapNextKey(this.fd, k, this.keySize);
    }
    return n;
  }

  readonly sweptPending = null;

  /** Two bpf(2) calls per pending begin (next key + lookup) plus a delete per expiry. */
  sweep(nowNs: bigint, timeoutNs: bigint): ClaimedBegin[] {
    const expired: ClaimedBegin[] = [];
    let key = mapNextKey(this.fd, null, this.keySize);
    while (key !== null) {
      const value = mapLookup(this.fd, key, this.valueSize);
      const ts = value && new DataView(value.buffer, value.byteOffset).getBigUint64(Ctx.ts, true);
      if (value !== null && ts !== null && nowNs - ts > timeoutNs) expired.push({ key, value });
      key = mapNextKey(this.fd, key, this.keySize);
    }
    // an end racing the sweep either deletes first (a pair) or finds nothing
    return expired.filter((begin) => mapDelete(this.fd, begin.key));
  }

  close(): void {}
}
