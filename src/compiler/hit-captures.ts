// A hit completed with what its plan captures: `key_comm` (the name of the task its key
// is) and the `then print` fields, from the values each backend read at the begin and the
// end. One rule for every backend: a field is the begin's when its probe has it (the event
// that started the wait), else the end's (`end.FIELD` chooses); the key's task is named by
// the end (its name when it ran), else the begin, else the live system.

import type { EventContext, HitRecord, KeyValue } from "../records/types.ts";
import { symbolText } from "./field-symbols.ts";
import type { KeyTask, TaskNameSource, TrackerPlan } from "./plan.ts";

/** What one event gave: its alternative's index, and plan.captures' values read there. */
export interface CapturedSide {
  alternative: number;
  /** One per capture; undefined where the probe has no such field (or it was unreadable). */
  values: (KeyValue | undefined)[];
}

/** Looks up a live task's name (/proc/PID/comm); absent for recorded traces. */
export type ProcessName = (pid: number) => string | null;

/** Adds key_comm, fields and fields_text to `hit` as its plan says; a no-op for other plans. */
export function completeHit(
  plan: TrackerPlan,
  hit: HitRecord,
  begin: CapturedSide,
  end: CapturedSide | null,
  processName?: ProcessName,
): HitRecord {
  const captures = plan.captures ?? [];
  const keyTask = plan.keyTask;
  if (keyTask) hit.key_comm = keyTaskName(keyTask, hit, begin, end, processName);
  if (!captures.some((c) => c.shown)) return hit;
  const fields: Record<string, KeyValue | null> = {};
  const texts: Record<string, string> = {};
  captures.forEach((capture, i) => {
    if (!capture.shown) return;
    const atBegin = capture.begins[begin.alternative] ? begin.values[i] : undefined;
    const atEnd = end && hit.end && capture.ends[end.alternative] ? end.values[i] : undefined;
    const value = atBegin ?? atEnd ?? null;
    fields[capture.name] = value;
    const text = capture.symbols && typeof value === "bigint" && symbolText(capture.symbols, value);
    if (text) texts[capture.name] = text;
  });
  hit.fields = fields;
  if (Object.keys(texts).length > 0) hit.fields_text = texts;
  return hit;
}

/** The end's name for the key's task, else the begin's, else the live system's. */
function keyTaskName(
  keyTask: KeyTask,
  hit: HitRecord,
  begin: CapturedSide,
  end: CapturedSide | null,
  processName: ProcessName | undefined,
): string | null {
  const fromEnd = end && hit.end && nameFrom(keyTask.ends[end.alternative], hit.end, end);
  if (fromEnd) return fromEnd;
  const fromBegin = nameFrom(keyTask.begins[begin.alternative], hit.begin, begin);
  if (fromBegin) return fromBegin;
  const key = hit.key[keyTask.index];
  return (typeof key === "bigint" && processName?.(Number(key))) || null;
}

function nameFrom(
  source: TaskNameSource | undefined,
  context: EventContext,
  side: CapturedSide,
): string | null {
  if (!source) return null;
  if (source.kind === "thread") return context.comm || null;
  if (source.kind === "process") return context.tid === context.pid ? context.comm || null : null;
  const value = side.values[source.capture];
  return typeof value === "string" && value !== "" ? value : null;
}
