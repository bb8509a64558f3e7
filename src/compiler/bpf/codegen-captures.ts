// The values a hit carries beyond its contexts (plan.captures: `then print` fields, the
// key task's name): written on the stack by the begin program (kept in the pending value)
// and by the end program (copied into the hit record), in captureLayout's slots.

import { writeKeyPart } from "./codegen-expr.ts";
import type { Prefetch } from "./codegen-prefetch.ts";
import type { ProgramContext } from "./codegen-program.ts";
import { FP, storeImm } from "./insn.ts";
import { captureLayout, keySlotSize } from "./layout.ts";

/**
 * Writes this side's captured values on the stack and returns their offset (from R10), or
 * null when the tracker captures nothing (or keeps no context: it has no hits). A field the probe lacks is left zero.
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
      if (expr) {
        pre.fetch([expr]);
        writeKeyPart(pre, expr, capture.type, slot);
      } else {
        for (let k = 0; k < keySlotSize(capture.type); k += 8)
          em.emit(storeImm(FP, slot + k, 0, 8));
      }
    });
  });
  return at;
}
