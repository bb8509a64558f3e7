// Pass 4: completes checked trackers into the FilePlan every backend consumes: derived
// unique names, defaults for keep/capacity/actions/options, and each tracker's source text.

import type { CheckedProgram, CheckedTrack } from "./checker.ts";
import { defaultOptions } from "./options.ts";
import { DEFAULT_CAPACITY, DEFAULT_KEEP, type FilePlan, type TrackerPlan } from "./plan.ts";

export function planProgram(
  checked: CheckedProgram,
  sourceText: string,
  existingNames: readonly string[] = [],
): FilePlan {
  const taken = new Set([
    ...existingNames,
    ...checked.trackers.flatMap((t) => (t.name ? [t.name.text] : [])),
  ]);
  const trackers = checked.trackers.map((t) => planTracker(t, sourceText, taken));
  const options = defaultOptions();
  for (const option of checked.options) options[option.name] = option.value;
  return { file: checked.file, trackers, options };
}

function planTracker(t: CheckedTrack, sourceText: string, taken: Set<string>): TrackerPlan {
  return {
    name: t.name?.text ?? deriveName(t, taken),
    begins: t.begins,
    ends: t.ends,
    keyTypes: t.keyTypes,
    thresholdNs: t.thresholdNs,
    timeoutNs: t.timeoutNs,
    keep: t.keep ?? DEFAULT_KEEP,
    capacity: t.capacity ?? DEFAULT_CAPACITY,
    actions: t.actions ?? [{ kind: "print", range: t.range }],
    cancels: t.cancels,
    chain: t.chain,
    ...(t.captures.length > 0 ? { captures: t.captures } : {}),
    ...(t.keyTask ? { keyTask: t.keyTask } : {}),
    range: t.range,
    source: sourceText.slice(t.range.offset, t.range.endOffset),
  };
}

/** "sched_wakeup_to_sched_switch" (a chain: origin_to_target), then "..._2", "..._3" when taken. */
function deriveName(t: CheckedTrack, taken: Set<string>): string {
  const base = `${t.begins[0].probe.name}_to_${t.ends[0].probe.name}`;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}
