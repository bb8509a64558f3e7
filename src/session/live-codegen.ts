// Code generation for the live backend: a tracker's BPF programs as this kernel will load
// them (task_struct offsets from its BTF, the pending table chosen by the options). The one
// step the compiled cache (compiled-cache.ts) skips on a repeat run.

import { kernelTaskOffsets } from "../compiler/bpf/btf.ts";
import { generateTracker } from "../compiler/bpf/codegen.ts";
import type { TrackerObject } from "../compiler/bpf/object.ts";
import type { OptionValue, ProgramPlan, TrackerPlan } from "../compiler/plan.ts";

/** One tracker; `index` tags its hit records and must be unique within a session. */
export function generateLiveTracker(
  plan: TrackerPlan,
  index: number,
  options: Record<string, OptionValue>,
): TrackerObject {
  // Only trackers that report a begin's context read it from the task.
  const task = plan.thresholdNs !== null || plan.timeoutNs !== null ? kernelTaskOffsets() : null;
  // "pending.table" is an internal knob (tests, comparisons), not a language option
  const table = options["pending.table"] === "hash" ? "hash" : "set-associative";
  return generateTracker(plan, index, { task, table });
}

/** Every tracker of a file, indexed in order, as `ltsh run` adds them to a fresh session. */
export function generateLivePrograms(plan: ProgramPlan): TrackerObject[] {
  return plan.trackers.map((t, i) => generateLiveTracker(t, i, plan.options));
}
