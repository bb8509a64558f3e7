// The values a hit carries beyond its contexts (plan.captures: `then print` fields, the
// key task's name): written on the stack by the begin program (kept in the pending value)
// and by the end program (copied into the hit record), in captureLayout's slots.

import { writeKeyPart } from "./codegen-expr.ts";
import type { Prefetch } from "./codegen-prefetch.ts";
import type { ProgramContext } from "./codegen-program.ts";
import { chunks } from "./codegen-string.ts";
import type { Emitter } from "./emitter.ts";
import { FP, loadMem, R1, R6, storeImm, storeMem } from "./insn.ts";
import { captureLayout, keySlotSize } from "./layout.ts";

/**
 * Writes this side's captured values on the stack and returns their offset (from R10), or
 * null when the tracker captures nothing (or keeps no context: it has no hits). A field
 * the probe lacks is left zero.
 */
export function writeCaptures(
  c: ProgramContext,
  pre: Prefetch,
  role: "begins" | "ends",
): number | null {
  const captures = c.layout.plan.captures ?? [];
  const layout = captureLayout(c.layout.plan);
  if (layout.size === 0 || (c.layout.pending.captures ?? -1) < 0) return null;
  const em = c.em;
  const at = em.alloc(layout.size);
  em.withSource(`captured values (${captures.map((v) => v.name).join(", ")})`, () => {
    captures.forEach((capture, i) => {
      const slot = at + layout.offsets[i];
      const expr = capture[role][c.alternative];
      const slotSize = keySlotSize(capture.type);
      if (
        expr?.kind === "field" &&
        expr.type.kind === "string" &&
        !pre.site &&
        !expr.field.dataLoc
      ) {
        copyRaw(em, expr.field.offset, slot, Math.min(expr.field.size, slotSize), slotSize);
      } else if (expr) {
        pre.fetch([expr]);
        writeKeyPart(pre, expr, capture.type, slot);
      } else {
        for (let k = 0; k < slotSize; k += 8) em.emit(storeImm(FP, slot + k, 0, 8));
      }
    });
  });
  return at;
}

/**
 * A char array of the event copied whole (user space reads it up to its NUL): a few wide
 * loads instead of a byte loop that stops at the NUL, as keys need for comparing.
 */
function copyRaw(em: Emitter, from: number, at: number, n: number, slot: number) {
  for (const c of chunks([from, at], n)) {
    em.emit(loadMem(R1, R6, from + c.at, c.size), storeMem(FP, at + c.at, R1, c.size));
  }
  for (const c of chunks(at + n, slot - n)) em.emit(storeImm(FP, at + n + c.at, 0, c.size));
}
