// The `cancel` scenario's reference: the syscall sequence `ltwork cancel N` makes, as the
// ftrace lines a recording of it would hold, replayed by the reference interpreter. The
// module's counters in the guest must equal these exactly.

import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { SummaryRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";

/** The calls of one round of ltwork's do_cancel(): getuid (the cancel) on odd rounds only. */
function roundCalls(round: number): string[] {
  return ["getppid", ...(round % 2 ? ["getuid"] : []), "getppid", "getpid"];
}

/** The sys_enter lines of `ltwork cancel N` run by thread `tid`, 1 µs apart. */
export function cancelTrace(rounds: number, tid: number): string[] {
  const calls = Array.from({ length: rounds }, (_, i) => roundCalls(i)).flat();
  return calls.map((call, i) => {
    const ts = (100 + i / 1e6).toFixed(6);
    return `${`ltwork-${tid}`.padStart(16)} [000] ..... ${ts.padStart(12)}: sys_${call}()`;
  });
}

/** The replay interpreter's summary of `plan` over that trace. */
export function replayCancel(plan: TrackerPlan, rounds: number, tid = 100): SummaryRecord {
  const interpreter = new Interpreter({ hit: () => {}, warning: () => {} });
  interpreter.add(plan);
  cancelTrace(rounds, tid).forEach((line, i) => {
    const event = parseFtraceLine(line, i + 1);
    if (typeof event === "string") throw new Error(`${event}: ${line}`);
    if (event !== null) interpreter.feed(event);
  });
  interpreter.finish("ltwork-cancel.txt");
  return interpreter.summaries()[0];
}
