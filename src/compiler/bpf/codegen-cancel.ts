// The cancel program of a tracker alternative (`cancel PROBE(key) [where …]`): filter, key,
// find the key's pending begin (most events stop here), release it without a pair, and count
// it as cancelled. A begin past its deadline is a timeout hit instead, as in replay. Only the CPU that wins the begin counts it (as for ends), so a cancel
// racing an end or the timeout sweep never counts a begin twice.

import { emitFoundTooLate } from "./codegen-end.ts";
import {
  epilogue,
  increment,
  lookupStats,
  type ProgramContext,
  prologue,
} from "./codegen-program.ts";
import { JNE, R0 } from "./insn.ts";
import { Stats } from "./layout.ts";
import { EXIT } from "./pending-table.ts";

export function emitCancelBody(c: ProgramContext): void {
  const { em, table } = c;
  const { pre, keyOffset } = prologue(c);
  em.withSource(`${c.source(c.side.range)} (cancel)`, () => {
    const found = table.find(em, keyOffset);
    emitFoundTooLate(c, pre, keyOffset, found);
    table.release(em, found);
    em.emit(JNE.imm(R0, 0, EXIT));
    lookupStats(c);
    increment(em, R0, Stats.cancelled);
  });
  epilogue(em);
}
