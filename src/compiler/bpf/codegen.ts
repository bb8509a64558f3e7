// Codegen TrackerPlan → BPF: per tracker one tracepoint program per begin alternative and
// one per end alternative, plus its maps (pending begins, per-CPU stats, stack traces).
// All trackers of a session share one ring buffer for hit records.

import { basename } from "node:path";
import { BpfMapType } from "../../kernel/uapi-bpf.ts";
import { hasAction } from "../actions.ts";
import type { SourceRange } from "../diagnostic.ts";
import type { FilePlan, ProbePlan, TrackerPlan } from "../plan.ts";
import { assemble } from "./asm.ts";
import { emitBeginBody } from "./codegen-begin.ts";
import { emitCancelBody } from "./codegen-cancel.ts";
import { type ContextProbes, generateChainTracker } from "./codegen-chain.ts";
import { emitEndBody } from "./codegen-end.ts";
import type { ProgramContext } from "./codegen-program.ts";
import { Emitter } from "./emitter.ts";
import {
  keyLayout,
  type PendingTableLayout,
  pendingLayout,
  STACK_DEPTH,
  STACK_ENTRIES,
  Stats,
  setAssociativeLayout,
  type TaskOffsets,
} from "./layout.ts";
import {
  type BpfMapSpec,
  type BpfProgram,
  type ProgramRole,
  ringbufSpec,
  sidesOf,
  type TrackerLayout,
  type TrackerObject,
} from "./object.ts";
import { hashTable } from "./pending-hash.ts";
import { setAssociativeTable } from "./pending-set-associative.ts";
import type { PendingTable } from "./pending-table.ts";

export {
  type BpfMapSpec,
  type BpfProgram,
  DEFAULT_RINGBUF_SIZE,
  ringbufSpec,
  type TrackerLayout,
  type TrackerObject,
} from "./object.ts";

/** A woken task is looked for on at most this many CPUs (an unrolled scan). */
const MAX_CPUS = 64;

/** Kernel object names: [A-Za-z0-9_.], at most 15 characters. */
export function kernelName(tracker: string, suffix: string): string {
  const room = 15 - "ltsh_".length - suffix.length - 1;
  const clean = tracker.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, Math.max(room, 0));
  return `ltsh_${clean}_${suffix}`;
}

export interface CodegenOptions {
  /**
   * Where pending begins live: "set-associative" (default), an array of buckets whose slots
   * are claimed with cmpxchg, cheap on the hot path; "hash", a BPF HASH map (exact capacity,
   * no collisions, ~2 × the cost).
   */
  table?: "set-associative" | "hash";
  /** This kernel's task_struct offsets (BTF): cheaper begin/end contexts than helpers. */
  task?: TaskOffsets | null;
  /** Chain trackers: the context tracepoints (scopes, propagation) this kernel has. */
  contexts?: ContextProbes;
  /** Chain trackers: this machine's possible CPUs (where a woken task may be running). */
  cpus?: number;
}

/** Generates the programs and maps of one tracker; `index` tags its hit records. */
export function generateTracker(
  plan: TrackerPlan,
  index: number,
  options: CodegenOptions = {},
): TrackerObject {
  if (plan.chain) {
    const name = (suffix: string) => kernelName(plan.name, suffix);
    const cpus = Math.min(options.cpus ?? 1, MAX_CPUS);
    const contexts = options.contexts ?? new Map();
    return generateChainTracker(plan, index, contexts, name, cpus, options.task ?? null);
  }
  const key = keyLayout(plan.keyTypes);
  const pending = pendingLayout(plan);
  const stacks = hasAction(plan, "stack") ? `${plan.name}.stacks` : null;
  const table: PendingTableLayout =
    options.table === "hash" ? { kind: "hash" } : setAssociativeLayout(plan.capacity, key, pending);
  const layout: TrackerLayout = {
    plan,
    index,
    key,
    pending,
    table,
    maps: { pending: `${plan.name}.pending`, stats: `${plan.name}.stats`, stacks },
  };
  const maps: BpfMapSpec[] = [
    { ref: layout.maps.pending, name: kernelName(plan.name, "p"), ...pendingTable(layout).map },
    {
      ref: layout.maps.stats,
      name: kernelName(plan.name, "s"),
      type: BpfMapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: Stats.size,
      maxEntries: 1,
    },
  ];
  if (stacks !== null) {
    maps.push({
      ref: stacks,
      name: kernelName(plan.name, "k"),
      type: BpfMapType.STACK_TRACE,
      keySize: 4,
      valueSize: STACK_DEPTH * 8,
      maxEntries: STACK_ENTRIES,
    });
  }
  // grammar/README.md: on one event, ends first, then cancels, then begins
  const programs = (["end", "cancel", "begin"] as const).flatMap((role) =>
    sidesOf(plan, role).flatMap((side, i) => programsOf(layout, role, i, side.probe, options)),
  );
  return { layout, maps, programs };
}

/** The pending table implementation the tracker's layout names. */
function pendingTable(layout: TrackerLayout): PendingTable {
  return layout.table.kind === "set-associative"
    ? setAssociativeTable(layout, layout.table)
    : hashTable(layout);
}

/** A tracepoint's one program, or one per site of a user-space probe (each reads its own operands). */
function programsOf(
  layout: TrackerLayout,
  role: ProgramRole,
  alternative: number,
  probe: ProbePlan,
  options: CodegenOptions,
): BpfProgram[] {
  if (probe.user === undefined) return [program(layout, role, alternative, options)];
  return probe.user.sites.map((_, site) => program(layout, role, alternative, options, site));
}

// Ends are generated (and attached) before begins: when one event both ends a pair and
// begins the next (off-CPU: sched_switch), the end sees the pending begin of the previous one.
function program(
  layout: TrackerLayout,
  role: ProgramRole,
  alternative: number,
  options: CodegenOptions,
  site?: number,
): BpfProgram {
  const plan = layout.plan;
  const side = sidesOf(plan, role)[alternative];
  const em = new Emitter();
  const ctx: ProgramContext = {
    em,
    layout,
    table: pendingTable(layout),
    side,
    alternative,
    source: (r) => sourceText(plan, r),
    task: options.task ?? undefined,
    ...(site !== undefined ? { site: side.probe.user!.sites[site] } : {}),
  };
  if (role === "begin") emitBeginBody(ctx);
  else if (role === "end") emitEndBody(ctx);
  else emitCancelBody(ctx);
  return {
    name: kernelName(plan.name, `${role[0]}${alternative}${site !== undefined ? `u${site}` : ""}`),
    tracker: plan.name,
    role,
    alternative,
    probe: side.probe,
    ...(site !== undefined ? { site } : {}),
    program: assemble(em.finish()),
  };
}

/** "wakeup.lt:3: sched_wakeup(pid) where prio < 100": the `.lt` text a range covers. */
export function sourceText(plan: TrackerPlan, range: SourceRange): string {
  const start = range.offset - plan.range.offset;
  const end = range.endOffset - plan.range.offset;
  let text = plan.source
    .slice(Math.max(start, 0), Math.max(end, start))
    .replace(/\s+/g, " ")
    .trim();
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `${basename(range.file)}:${range.line}: ${text}`;
}

/** Every tracker of a file, with the ring buffer they share. */
export function generateTrackers(
  plan: FilePlan,
  options: CodegenOptions = {},
): {
  ringbuf: BpfMapSpec;
  trackers: TrackerObject[];
} {
  const size = plan.options["ringbuf.size"];
  return {
    ringbuf: ringbufSpec(typeof size === "number" ? size : undefined),
    trackers: plan.trackers.map((t, i) => generateTracker(t, i, options)),
  };
}
