// Code generation for the live backend: a tracker's BPF programs as this kernel will load
// them (task_struct offsets from its BTF, the pending table chosen by the options). The one
// step the compiled cache (compiled-cache.ts) skips on a repeat run.

import { kernelTaskOffsets } from "../compiler/bpf/btf.ts";
import { generateTracker } from "../compiler/bpf/codegen.ts";
import type { TrackerObject } from "../compiler/bpf/object.ts";
import { loadCatalog } from "../compiler/catalog/index.ts";
import { chainContextEvents } from "../compiler/contexts.ts";
import type { FilePlan, OptionValue, ProbePlan, TrackerPlan } from "../compiler/plan.ts";
import { resolveProbe } from "../compiler/probes.ts";
import { possibleCpus } from "../kernel/bpf.ts";

/** One tracker; `index` tags its hit records and must be unique within a session. */
export function generateLiveTracker(
  plan: TrackerPlan,
  index: number,
  options: Record<string, OptionValue>,
): TrackerObject {
  // Only trackers that report a begin's context read it from the task (a chain's stages do).
  const reports = plan.chain || plan.thresholdNs !== null || plan.timeoutNs !== null;
  const task = reports ? kernelTaskOffsets() : null;
  // "pending.table" is an internal knob (tests, comparisons), not a language option
  const table = options["pending.table"] === "hash" ? "hash" : "set-associative";
  const contexts = plan.chain ? kernelContextProbes() : undefined;
  return generateTracker(plan, index, { task, table, contexts, cpus: possibleCpus() });
}

/** The chain context tracepoints this kernel has (its tracefs formats). */
function kernelContextProbes(): Map<string, ProbePlan> {
  const catalog = loadCatalog();
  const out = new Map<string, ProbePlan>();
  for (const id of chainContextEvents()) {
    const found = resolveProbe(id, catalog, null); // tracepoints only
    if (found.ok) out.set(id, found.probe);
  }
  return out;
}

/** Every tracker of a file, indexed in order, as `ltsh run` adds them to a fresh session. */
export function generateLivePrograms(plan: FilePlan): TrackerObject[] {
  return plan.trackers.map((t, i) => generateLiveTracker(t, i, plan.options));
}
