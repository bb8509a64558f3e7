// What replay reads for plan.captures (`then print` fields, the comm naming the key's task):
// the values at a begin (kept with it) and at the end, and the hit completed with them.
// Every begin reads them, so this stays lean: one array per read, converted in place.

import { completeHit } from "../compiler/hit-captures.ts";
import type { TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord, KeyValue } from "../records/types.ts";
import type { EventView, Value } from "./expr.ts";
import { type CompiledSide, ownValue, type PendingBegin } from "./tracker.ts";

/** The side's captures read from the event being dispatched (strings copied out of the line). */
export function capturedValues(side: CompiledSide, view: EventView): (Value | undefined)[] {
  const reads = side.captures;
  const values = new Array<Value | undefined>(reads.length);
  for (let i = 0; i < reads.length; i++) {
    const value = reads[i]?.(view);
    values[i] = value === undefined ? undefined : ownValue(value);
  }
  return values;
}

/**
 * The values as the hit shows them (integers as bigint), converted in place: the array is
 * the ended begin's or one just read, and nothing reads it afterwards.
 */
function asKeyValues(values: (Value | undefined)[] | null): (KeyValue | undefined)[] {
  if (values === null) return [];
  const converted = values as unknown as (KeyValue | undefined)[];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === "number") converted[i] = BigInt(value);
  }
  return converted;
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
  const beginSide = { alternative: begin.alternative, values: asKeyValues(begin.captured) };
  const endSide = end && {
    alternative: end.alternative,
    values: asKeyValues(capturedValues(end, view)),
  };
  return completeHit(plan, hit, beginSide, endSide);
}
