// The pending table as the begin and end programs see it: one interface (begin, find,
// release) with two implementations, the set-associative array (the default,
// pending-set-associative.ts) and the BPF HASH map (pending-hash.ts); the registers and
// labels the tables and the program bodies hand each other.

import type { MapSpec } from "../../kernel/bpf.ts";
import type { Emitter } from "./emitter.ts";
import { R6, R7, R8, R9, type Register } from "./insn.ts";

/**
 * The register contract of the program bodies and the pending table. Helper calls keep
 * r6–r9, so these live across them; r0–r5 are scratch for everyone.
 * - `ctx` (r6): the tracepoint context, from the prologue to the end of the program.
 * - `pending` (r7): the begin's value in the table. `find` sets it for the end body, which
 *   reads the begin's timestamp and context there; `release` may read it.
 * - `latency` (r8): the end's latency (now − the begin's timestamp), set after `find`.
 * - `hit` (r9): the end's hit record, then its hit flags (bit 0: a hit, bit 1: record lost).
 * A table may use r7–r9 as scratch inside `begin` and `find` (before the body sets them);
 * `release` keeps r8 and r9.
 */
export const Reg = { ctx: R6, pending: R7, latency: R8, hit: R9 } as const;

/** Where a program ends (r0 = 0), and where a begin that does not fit is counted. */
export const EXIT = "exit";
export const DROP = "drop";

/**
 * Stores the begin's value at base + at: its context, stack id and timestamp. It may use
 * r0–r5 only (the tables keep their state in r7–r9 across it).
 */
export type WriteBegin = (base: Register, at: number) => void;

/** What `find` leaves for `release`: a stack offset (the key, or the claimed slot's state). */
export interface FoundBegin {
  readonly at: number;
}

export interface PendingTable {
  /** The map's shape (name and ref are the tracker's). */
  readonly map: Omit<MapSpec, "name">;
  /** A second map the table's programs use (the set-associative table's `seq` words). */
  readonly locks?: { ref: string; spec: Omit<MapSpec, "name"> };
  /** Why a begin was dropped, for the listing: the annotation of the DROP path. */
  readonly whenFull: string;
  /**
   * Records the begin of the key at `keyOffset`, its value stored by `write` (keep first: a
   * pending key keeps its begin; keep last: it is replaced), then jumps to EXIT. A begin
   * that does not fit jumps to DROP or falls through to it.
   */
  begin(em: Emitter, keyOffset: number, write: WriteBegin): void;
  /** Exits unless the key's begin is pending; leaves Reg.pending = its value. */
  find(em: Emitter, keyOffset: number): FoundBegin;
  /**
   * Removes the found begin; r0 = 0 when this CPU removed it. Only that CPU counts the pair:
   * a racing end or the timeout sweep loses.
   */
  release(em: Emitter, found: FoundBegin): void;
}
