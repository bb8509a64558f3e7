// Chain trackers (`~>`) on eBPF: the replay reference's state machine (src/replay/chain.ts,
// grammar/README.md "Chains") as one program per tracepoint the chain needs, each made of
// the rules that apply to that event in the reference's order: scope entry, the softirq
// taking its raise, the context switch (preempted / run / block / a sched_switch step), the
// origin, the other steps, then what the context's token does (cancel, raise, waking), and
// the scope exit. Maps: the token table (holder → token, set-associative slots of 2 ×
// capacity), the chain table (slots claimed by chain ids: live branches), the per-CPU scope
// stack, a per-CPU scratch token (an origin handed to `->`), counters.

import { BpfMapFlag, BpfMapType } from "../../kernel/uapi-bpf.ts";
import { type ScopeKind, scopeOf } from "../contexts.ts";
import type { ProbePlan, ProbeSide, TrackerPlan } from "../plan.ts";
import { assemble } from "./asm.ts";
import { ChainValue, CpuState, chainTableLayout, Token } from "./chain-layout.ts";
import type { ChainSlots } from "./codegen-chain-frame.ts";
import { ChainOps } from "./codegen-chain-ops.ts";
import {
  closeScopes,
  contextSwitch,
  createChain,
  type EventStep,
  holderRules,
  popScope,
  pushScope,
  reachSteps,
  tailWaking,
  takeOuterScope,
  takeRaise,
} from "./codegen-chain-rules.ts";
import { recordRunning } from "./codegen-chain-running.ts";
import { branch, buildKey } from "./codegen-expr.ts";
import { Prefetch } from "./codegen-prefetch.ts";
import type { ProgramContext } from "./codegen-program.ts";
import { Emitter } from "./emitter.ts";
import { exit, FP, Mov, R0, storeImm } from "./insn.ts";
import { chainSegments, keyLayout, Stats, type TaskOffsets } from "./layout.ts";
import type { BpfMapSpec, BpfProgram, TrackerLayout, TrackerObject } from "./object.ts";
import { hashTable } from "./pending-hash.ts";

const SCOPE_CODES: Record<ScopeKind, number> = {
  irq: 1,
  softirq: 2,
  tasklet: 3,
  hrtimer: 4,
  timer: 5,
  vector: 6,
};

/** The tracepoints a chain follows besides its own probes, as this kernel describes them. */
export type ContextProbes = ReadonlyMap<string, ProbePlan>;

export function generateChainTracker(
  plan: TrackerPlan,
  index: number,
  contexts: ContextProbes,
  kernelName: (suffix: string) => string,
  cpus: number,
  /** task_struct offsets (BTF): a stage reads the current task without two helper calls. */
  task: TaskOffsets | null = null,
): TrackerObject {
  const segments = chainSegments(plan);
  const maps = {
    tokens: `${plan.name}.tokens`,
    tokenSlots: `${plan.name}.tokenSlots`,
    chains: `${plan.name}.pending`,
    cpu: `${plan.name}.cpu`,
    scratch: `${plan.name}.scratch`,
    segments: `${plan.name}.segments`,
    handoffs: `${plan.name}.handoffs`,
    running: `${plan.name}.running`,
  };
  const table = chainTableLayout(plan.capacity);
  const layout: TrackerLayout = {
    plan,
    index,
    key: keyLayout([]),
    pending: { withContext: false, stackId: -1, size: ChainValue.size },
    table,
    maps: { pending: maps.chains, stats: `${plan.name}.stats`, stacks: null },
  };
  const perCpu = (ref: string, suffix: string, valueSize: number, entries = 1): BpfMapSpec => ({
    ref,
    name: kernelName(suffix),
    type: BpfMapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize,
    maxEntries: entries,
  });
  const hash = (ref: string, suffix: string, valueSize: number, keySize = 8): BpfMapSpec => ({
    ref,
    name: kernelName(suffix),
    type: BpfMapType.HASH,
    keySize,
    valueSize,
    maxEntries: plan.capacity,
  });
  // the tables user space sweeps through their mappings (live-chain-table.ts)
  const mapped = (ref: string, suffix: string, valueSize: number, entries: number) => ({
    ref,
    name: kernelName(suffix),
    type: BpfMapType.ARRAY,
    keySize: 4,
    valueSize,
    maxEntries: entries,
    flags: BpfMapFlag.MMAPABLE,
  });
  const tokens = table.tokens;
  const mapSpecs: BpfMapSpec[] = [
    mapped(maps.tokens, "t", tokens.bucketSize, tokens.buckets),
    mapped(maps.tokenSlots, "v", tokens.tokenSize, tokens.buckets * tokens.ways),
    mapped(maps.chains, "p", table.bucketSize, table.buckets),
    perCpu(maps.cpu, "x", CpuState.size),
    perCpu(maps.scratch, "w", Token.size),
    perCpu(layout.maps.stats, "s", Stats.size),
  ];
  // one segment is the pair itself (codegen-chain-end.ts): no counters of its own
  if (segments > 1) mapSpecs.push(perCpu(maps.segments, "g", Stats.size, segments));
  mapSpecs.push({
    ref: maps.running,
    name: kernelName("r"),
    type: BpfMapType.ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: cpus,
  });
  const handoffKey = handoffKeySize(plan);
  if (handoffKey > 0) mapSpecs.push(hash(maps.handoffs, "h", Token.size, handoffKey));
  const probes = chainProbes(plan, contexts);
  // a tracepoint's one program, or one per site of a user-space probe (each reads its operands)
  const programs = probes.flatMap((probe, i): BpfProgram[] => {
    const sites = probe.user === undefined ? [undefined] : probe.user.sites.map((_, k) => k);
    return sites.map((site) => {
      const em = new Emitter();
      const side: ProbeSide = { probe, key: [], filter: null, range: plan.range };
      const c: ProgramContext = {
        em,
        layout,
        table: hashTable(layout),
        side,
        alternative: i,
        source: () => plan.source.split("\n")[0],
        ...(task !== null ? { task } : {}),
        ...(site !== undefined ? { site: probe.user!.sites[site] } : {}),
      };
      emitChainProgram(c, new ChainOps(c, maps, slots(em), cpus, table), probe);
      return {
        name: kernelName(`c${i}${site !== undefined ? `u${site}` : ""}`),
        tracker: plan.name,
        role: "chain",
        alternative: i,
        probe,
        ...(site !== undefined ? { site } : {}),
        ...(probe.id === plan.chain!.steps[0].side.probe.id ? { origin: true as const } : {}),
        program: assemble(em.finish()),
      };
    });
  });
  return { layout, maps: mapSpecs, programs };
}

function slots(em: Emitter): ChainSlots {
  return {
    now: em.alloc(8),
    cpu: em.alloc(8),
    holder: em.alloc(8),
    other: em.alloc(8),
    chainId: em.alloc(8),
    chainBucket: em.alloc(8),
    chainWay: em.alloc(8),
    zero: em.alloc(8),
    depth: em.alloc(8),
    runCpu: em.alloc(8),
    runFlags: em.alloc(8),
    detail: em.alloc(8),
    tid: em.alloc(8),
    nextHolds: em.alloc(8),
    tail: em.alloc(8),
  };
}

/** irq_handler_exit: its probe, whose `ret` may ask for the IRQ's thread (the IRQ tail). */
function irqExit(probe: ProbePlan): ProbePlan | null {
  return probe.id === "irq:irq_handler_exit" ? probe : null;
}

/** Every tracepoint the chain needs a program on: scopes, propagation, steps, cancels. */
function chainProbes(plan: TrackerPlan, contexts: ContextProbes): ProbePlan[] {
  const out = new Map<string, ProbePlan>();
  for (const step of plan.chain!.steps) out.set(step.side.probe.id, step.side.probe);
  for (const cancel of plan.cancels ?? []) out.set(cancel.probe.id, cancel.probe);
  for (const [id, probe] of contexts) if (!out.has(id)) out.set(id, probe);
  return [...out.values()];
}

/** A stack flag per filtered side: 1 when its filter holds on this event. */
function filterFlag(c: ProgramContext, pre: Prefetch, side: ProbeSide): number {
  const { em } = c;
  const flag = em.alloc(8);
  em.emit(storeImm(FP, flag, 0, 8));
  const skip = em.fresh("filter_false");
  if (side.filter) {
    pre.fetch([side.filter]);
    branch(pre, side.filter, skip, false);
  }
  em.emit(storeImm(FP, flag, 1, 8));
  em.label(skip);
  em.emit(Mov.imm(R0, 0));
  return flag;
}

/** Bytes of a hand-off table key: the step index, then the widest key of a `->` pair. */
function handoffKeySize(plan: TrackerPlan): number {
  const steps = plan.chain!.steps;
  const sizes = steps
    .filter((s, k) => s.via === "key" || steps[k + 1]?.via === "key")
    .map((s) => keyLayout(s.side.key.map((e) => e.type)).size);
  return sizes.length === 0 ? 0 : 8 + Math.max(...sizes);
}

/** The hand-off key of step `index` from this event's key values, on the stack. */
function handoffKeyOf(pre: Prefetch, side: ProbeSide, index: number, size: number): number {
  const em = pre.em;
  const at = em.alloc(size);
  for (let off = 0; off < size; off += 8) em.emit(storeImm(FP, at + off, 0, 8));
  em.emit(storeImm(FP, at, index, 8));
  const types = side.key.map((e) => e.type);
  pre.fetch(side.key);
  buildKey(pre, side.key, types, keyLayout(types), at + 8);
  return at;
}

function emitChainProgram(c: ProgramContext, ops: ChainOps, probe: ProbePlan): void {
  const { em } = c;
  const plan = c.layout.plan;
  const steps = plan.chain!.steps;
  const id = probe.id;
  ops.prologue();
  const pre = new Prefetch(em, c.site, c.task);
  const origin = steps[0].side.probe.id === id ? filterFlag(c, pre, steps[0].side) : null;
  const keySize = handoffKeySize(plan);
  // `ORIGIN(k) -> STEP(k)`: the new token goes straight to the hand-off table
  const originHandoff =
    origin !== null && steps[1]?.via === "key"
      ? handoffKeyOf(pre, steps[0].side, 1, keySize)
      : null;
  const stepFlags: EventStep[] = steps
    .map((s, k) => ({ k, side: s.side }))
    .filter(({ k, side }) => k > 0 && side.probe.id === id)
    .map(({ k, side }) => ({
      k,
      flag: filterFlag(c, pre, side),
      lookup: steps[k].via === "key" ? handoffKeyOf(pre, side, k, keySize) : null,
      handoff: steps[k + 1]?.via === "key" ? handoffKeyOf(pre, side, k + 1, keySize) : null,
    }));
  const cancels = (plan.cancels ?? [])
    .filter((side) => side.probe.id === id)
    .map((side) => filterFlag(c, pre, side));
  const scope = scopeOf(id);
  // the IRQ tail lasts until the CPU's next scope event or switch (a waking takes it first)
  if (scope !== null || id === "sched:sched_switch") ops.dropTail();
  if (id === "irq:softirq_entry" || id === "sched:sched_switch") closeScopes(ops);
  if (scope?.edge === "entry") pushScope(ops, SCOPE_CODES[scope.kind]);
  // a context switch acts on prev and next, not on a holder, unless it starts or cancels a chain
  if (id !== "sched:sched_switch" || origin !== null || cancels.length > 0) ops.currentHolder();
  if (id === "irq:softirq_entry") takeRaise(ops, probe);
  if (id === "irq:tasklet_entry") takeOuterScope(ops);
  if (id === "sched:sched_switch") {
    contextSwitch(ops, probe, stepFlags);
    recordRunning(ops, probe, stepFlags);
  }
  if (origin !== null) createChain(ops, probe, origin, originHandoff);
  const others = id === "sched:sched_switch" ? [] : stepFlags;
  if (others.length > 0) reachSteps(ops, others);
  if (id === "sched:sched_waking") tailWaking(ops, probe);
  holderRules(ops, probe, cancels);
  if (id === "sched:sched_waking") ops.dropTail();
  if (scope?.edge === "exit") popScope(ops, SCOPE_CODES[scope.kind], irqExit(probe));
  em.label("exit");
  em.emit(Mov.imm(R0, 0), exit());
}
