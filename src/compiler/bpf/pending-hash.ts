// The BPF HASH map as the pending table: exact capacity, no collisions, but a bucket lock,
// an allocation and a delete per pair (~2 × the set-associative table's cost). Chosen with
// generateTracker(..., { table: "hash" }); tests and cost comparisons use it.

import { BpfMapType } from "../../kernel/uapi-bpf.ts";
import { BPF_ANY, BPF_NOEXIST, EEXIST, Helper } from "./helpers.ts";
import { Add, call, FP, JEq, ldMapFd, Mov, R0, R1, R2, R3, R4 } from "./insn.ts";
import type { TrackerLayout } from "./object.ts";
import { EXIT, type PendingTable, Reg } from "./pending-table.ts";

export function hashTable(layout: TrackerLayout): PendingTable {
  const ref = layout.maps.pending;
  const keyArg = (offset: number) => [ldMapFd(R1, ref), Mov.reg(R2, FP), Add.imm(R2, offset)];
  return {
    map: {
      type: BpfMapType.HASH,
      keySize: layout.key.size,
      valueSize: layout.pending.size,
      maxEntries: layout.plan.capacity,
    },
    whenFull: "table full",
    // The value is built on the stack, then copied in by map_update_elem (keep first:
    // NOEXIST, so that a pending key keeps its begin).
    begin(em, keyOffset, write) {
      const value = em.alloc(layout.pending.size);
      write(FP, value);
      const keepFirst = layout.plan.keep === "first";
      em.emit(...keyArg(keyOffset));
      em.emit(Mov.reg(R3, FP), Add.imm(R3, value), Mov.imm(R4, keepFirst ? BPF_NOEXIST : BPF_ANY));
      em.emit(call(Helper.map_update_elem), JEq.imm(R0, 0, EXIT));
      if (keepFirst) em.emit(JEq.imm(R0, -EEXIST, EXIT));
    },
    find(em, keyOffset) {
      em.emit(...keyArg(keyOffset), call(Helper.map_lookup_elem));
      em.emit(JEq.imm(R0, 0, EXIT), Mov.reg(Reg.pending, R0));
      return { at: keyOffset };
    },
    // the delete decides a race with another end or the sweep: one of them gets 0
    release(em, found) {
      em.emit(...keyArg(found.at), call(Helper.map_delete_elem));
    },
  };
}
