// The begin program of a tracker alternative: filter, key, then the begin recorded in the
// pending table with its value (context, stack id, timestamp); a begin that does not fit is
// counted as dropped.

import { writeCaptures } from "./codegen-captures.ts";
import {
  copy8,
  epilogue,
  increment,
  lookupStats,
  type ProgramContext,
  prologue,
  stackIdInto,
  storeContext,
} from "./codegen-program.ts";
import { Helper } from "./helpers.ts";
import { call, FP, R0, storeMem } from "./insn.ts";
import { Ctx, Stats } from "./layout.ts";
import { DROP } from "./pending-table.ts";

export function emitBeginBody(c: ProgramContext): void {
  const { em, layout, table } = c;
  const { pre, keyOffset } = prologue(c);
  const pending = layout.pending;
  const capturesAt = pending.captures ?? -1;
  const captured = capturesAt >= 0 ? writeCaptures(c, pre, "begins") : null;
  em.withSource(`${c.source(c.side.range)} (begin)`, () => {
    table.begin(em, keyOffset, (base, at) => {
      if (pending.withContext) storeContext(c, pre, base, at);
      if (pending.stackId >= 0) stackIdInto(c, base, at + pending.stackId);
      if (captured !== null) {
        copy8(em, base, at + capturesAt, FP, captured, pending.size - capturesAt);
      }
      em.emit(call(Helper.ktime_get_ns), storeMem(base, at + Ctx.ts, R0, 8));
    });
  });
  em.withSource(`capacity ${layout.plan.capacity}: ${table.whenFull}, count a drop`, () => {
    em.label(DROP);
    lookupStats(c);
    increment(em, R0, Stats.dropped);
  });
  epilogue(em);
}
