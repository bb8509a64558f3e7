// What replay reads for plan.captures (`then print` fields, the comm naming the key's task):
// the values at a begin (kept with it) and at the end, and the hit completed with them.

import { completeHit } from "../compiler/hit-captures.ts";
import type { TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord, KeyValue } from "../records/types.ts";
import type { EventView, Value } from "./expr.ts";
import { type CompiledSide, ownValue, type PendingBegin } from "./tracker.ts";

/** The side's captures read from the event being dispatched (strings copied out of the line). */
export function capturedValues(side: CompiledSide, view: EventView): (Value | undefined)[] {
  return side.captures.map((read) => {
    const value = read?.(view);
    return value === undefined ? undefined : ownValue(value);
  });
}

function keyValues(values: (Value | undefined)[] | null): (KeyValue | undefined)[] {
  return (values ?? []).map((v) => (v === undefined || typeof v === "string" ? v : BigInt(v)));
}

/** key_comm and the print fields; a trace is not this machine's: no /proc lookup. */
export function withCaptures(
  plan: TrackerPlan,
  hit: HitRecord,
  begin: PendingBegin,
  end: CompiledSide | null,
  view: EventView,
): HitRecord {
  if (!plan.keyTask && !plan.captures) return hit;
  const beginSide = { alternative: begin.alternative, values: keyValues(begin.captured) };
  const endSide = end && {
    alternative: end.alternative,
    values: keyValues(capturedValues(end, view)),
  };
  return completeHit(plan, hit, beginSide, endSide);
}
