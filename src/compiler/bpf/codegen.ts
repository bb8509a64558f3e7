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
import { CodegenError, Emitter } from "./emitter.ts";
import { exit, type Insn } from "./insn.ts";
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
import { EXIT, type PendingTable } from "./pending-table.ts";

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
  const pendingCode = pendingTable(layout);
  const maps: BpfMapSpec[] = [
    { ref: layout.maps.pending, name: kernelName(plan.name, "p"), ...pendingCode.map },
    {
      ref: layout.maps.stats,
      name: kernelName(plan.name, "s"),
      type: BpfMapType.PERCPU_ARRAY,
      keySize: 4,
      valueSize: Stats.size,
      maxEntries: 1,
    },
  ];
  if (pendingCode.locks) {
    maps.push({
      ref: pendingCode.locks.ref,
      name: kernelName(plan.name, "l"),
      ...pendingCode.locks.spec,
    });
  }
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
  const sides = (["end", "cancel", "begin"] as const).flatMap((role) =>
    sidesOf(plan, role).map((side, alternative) => ({ role, alternative, probe: side.probe })),
  );
  const programs: BpfProgram[] = [];
  const merged = new Set<string>();
  for (const side of sides) {
    if (side.probe.user !== undefined) {
      programs.push(...programsOf(layout, side.role, side.alternative, side.probe, options));
    } else if (!merged.has(side.probe.id)) {
      // a tracepoint's sides run as one program, in that order: one dispatch per event
      merged.add(side.probe.id);
      const parts = sides.filter((s) => s.probe.user === undefined && s.probe.id === side.probe.id);
      programs.push(tracepointProgram(layout, parts, options));
    }
  }
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

/**
 * The one program of a tracepoint whose event several sides of the tracker share (an end
 * and a cancel on sched_switch): each side's program in turn, where one that finishes
 * (its `exit`) goes on to the next. Only r6 (the context) lives from one to the next.
 */
function tracepointProgram(
  layout: TrackerLayout,
  parts: { role: ProgramRole; alternative: number }[],
  options: CodegenOptions,
): BpfProgram {
  const each = parts.map((p) => program(layout, p.role, p.alternative, options));
  if (each.length === 1) return each[0];
  const insns: Insn[] = [];
  // the labels of a finished part's epilogue, put on the next part's first instruction
  let carried: readonly string[] = [];
  each.forEach((p, i) => {
    const own = (label: string) => `${i}.${label}`;
    let body = p.program.insns.map(
      (insn): Insn => ({
        ...insn,
        ...(insn.target !== undefined ? { target: own(insn.target) } : {}),
        ...(insn.labels ? { labels: insn.labels.map(own) } : {}),
      }),
    );
    // r6 = the context: set by the first part, kept by every part
    if (i > 0) body = body.slice(1);
    if (carried.length > 0)
      body[0] = { ...body[0], labels: [...carried, ...(body[0].labels ?? [])] };
    if (i === each.length - 1) {
      insns.push(...body);
      return;
    }
    const [ret, leave] = body.slice(-2);
    if (!ret.labels?.includes(own(EXIT)) || leave.opcode !== exit().opcode) {
      throw new CodegenError(`${p.name} does not end with its epilogue`);
    }
    carried = ret.labels;
    insns.push(...body.slice(0, -2));
  });
  return {
    ...each[0],
    // "ec": the end and the cancel (alternatives past the first numbered: "e1c")
    name: kernelName(
      layout.plan.name,
      parts.map((p) => `${p.role[0]}${p.alternative > 0 ? p.alternative : ""}`).join(""),
    ),
    parts,
    program: assemble(insns),
  };
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
