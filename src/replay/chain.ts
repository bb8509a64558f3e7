// The reference semantics of chain trackers (`~>`): execution contexts per CPU, tokens
// carried by softirq raises, wakings and context switches, the steps the user wrote, and
// `until run|block`. Stated in grammar/README.md "Chains"; one test per rule in
// test/replay/chain.test.ts.

import { chainContextEvents, SOFTIRQ_NAMES, scopeOf } from "../compiler/contexts.ts";
import type { ChainStep, ProbePlan } from "../compiler/plan.ts";
import { traceEventNames } from "../compiler/probes.ts";
import { LatencyStats } from "../records/stats.ts";
import {
  addStage,
  ChainTokens,
  furthest,
  type Stage,
  type StageKind,
  type Token,
} from "./chain-tokens.ts";
import { ExecutionContexts, type Holder, type Scope, taskHolder } from "./contexts.ts";
import type { TraceEvent } from "./event.ts";
import { type Compiled, compileExpr, type EventView, truthy, type Value } from "./expr.ts";
import { eventFields, taskStateFromText } from "./fields.ts";
import { keyOfValues, ownString, type Tracker } from "./tracker.ts";

interface CompiledStep {
  via: ChainStep["via"];
  id: string;
  name: string;
  key: Compiled[];
  filter: Compiled | null;
  /** sched_switch steps are reached when a holder is switched in. */
  switchIn: boolean;
}

export type ChainEnd = "pair" | "timeout";

/** One chain tracker: its compiled steps, tokens, and per-segment statistics. */
export class ChainTracker {
  readonly steps: CompiledStep[];
  readonly tokens: ChainTokens;
  readonly segments: { from: string; to: string; stats: LatencyStats }[];
  readonly until: "run" | "block";
  /** `cancel PROBE [where …]`: ends the chain held where the probe fires. */
  readonly cancels: { id: string; filter: Compiled | null }[];

  constructor(
    readonly tracker: Tracker,
    warn: (message: string) => void,
  ) {
    const plan = tracker.plan;
    const chain = plan.chain!;
    this.until = chain.until;
    this.steps = chain.steps.map((step) => ({
      via: step.via,
      id: step.side.probe.id,
      name: step.side.probe.name,
      key: step.side.key.map((k) => compileExpr(k, warn)),
      filter: step.side.filter ? compileExpr(step.side.filter, warn) : null,
      switchIn: step.side.probe.id === "sched:sched_switch",
    }));
    this.tokens = new ChainTokens(plan.capacity, plan.keep);
    this.cancels = (plan.cancels ?? []).map((side) => ({
      id: side.probe.id,
      filter: side.filter ? compileExpr(side.filter, warn) : null,
    }));
    const names = this.steps.map((s) => s.name);
    if (this.until === "block") names.push("block");
    this.segments = names.slice(1).map((to, i) => ({
      from: names[i],
      to,
      stats: new LatencyStats(`${plan.name}:${names[i]}->${to}`),
    }));
  }
}

/** What the interpreter does with an ended chain (stats, hit, actions). */
export type ChainEnded = (tracker: ChainTracker, token: Token, kind: ChainEnd, now: number) => void;

/** The event being handled, shared by every chain tracker. */
interface Current {
  event: TraceEvent;
  id: string;
  view: EventView;
  ts: number;
  holder: Holder;
}

export class ChainEngine {
  readonly contexts = new ExecutionContexts();
  readonly trackers: ChainTracker[] = [];
  /** Event name in the trace → probe id. */
  private readonly ids = new Map<string, string>();
  /** Ids of user-space probes: their events' category is an uprobe_events group, not a kind. */
  private readonly userIds = new Set<string>();
  /**
   * irq_handler_exit events that ended a chain's IRQ scope with `ret=handled` printed as a
   * word (tracefs's print format): IRQ_WAKE_THREAD looks the same, so a tail may be missed.
   */
  handledAsWord = 0;

  constructor(private readonly ended: ChainEnded) {
    // Traces may print bare names (tracefs text): look events up by name, keep their id.
    for (const id of chainContextEvents()) this.ids.set(id.split(":")[1], id);
  }

  add(tracker: ChainTracker): void {
    this.trackers.push(tracker);
    const plan = tracker.tracker.plan;
    for (const { side } of plan.chain!.steps) this.listen(side.probe);
    for (const side of plan.cancels ?? []) this.listen(side.probe);
  }

  /** A tracepoint by its name; a user-space probe by each site's uprobe_events name. */
  private listen(probe: ProbePlan): void {
    for (const name of traceEventNames(probe)) this.ids.set(name, probe.id);
    if (probe.user !== undefined) this.userIds.add(probe.id);
  }

  /** Bare names of every event the chains need. */
  eventNames(): string[] {
    return [...this.ids.keys()];
  }

  feed(event: TraceEvent, view: EventView, ts: number): void {
    const id = this.ids.get(event.name);
    if (id === undefined) return;
    if (event.category !== "" && !id.startsWith(`${event.category}:`) && !this.userIds.has(id))
      return;
    const fields = view.fields();
    const number = (name: string) => intOf(fields?.get(name));
    let closed: Scope[] = [];
    // an IRQ tail lasts until the CPU's next scope event or switch (a waking takes it first)
    const scopeEvent = id === "sched:sched_switch" || scopeOf(id) !== null;
    if (scopeEvent) this.dropTail(event.cpu);
    if (id === "sched:sched_switch") {
      closed = this.contexts.switchTo(copyEvent(event), number("next_pid"));
    } else {
      // Scopes are told apart by irq number and softirq vector; other scopes need no id.
      const scopeId =
        id === "irq:irq_handler_entry"
          ? number("irq")
          : id === "irq:softirq_entry"
            ? number("vec")
            : -1;
      closed = this.contexts.enter(event, id, scopeId);
    }
    this.dropScopes(closed);
    const holder = this.contexts.holderOf(event.cpu, event.tid);
    const current: Current = { event, id, view, ts, holder };
    for (const tracker of this.trackers) {
      if (!tracker.tracker.stopped) this.handle(tracker, current, number);
    }
    if (id === "sched:sched_waking") this.dropTail(event.cpu);
    closed = this.contexts.exit(event, id);
    if (id === "irq:irq_handler_exit" && closed.length > 0) {
      // IRQ_WAKE_THREAD: the kernel wakes the IRQ's thread right after this exit
      if (number("ret") === IRQ_WAKE_THREAD) this.toTail(closed[0], event.cpu);
      else if (PRINTED_HANDLED.test(event.payload) && this.holdsToken(closed[0]))
        this.handledAsWord++;
    }
    this.dropScopes(closed);
  }

  /** Timeouts: chains whose deadline trace time has passed, each one hit. */
  expire(now: number): void {
    for (const tracker of this.trackers) {
      for (const chain of tracker.tokens.chains) {
        if (chain.deadline >= now) break;
        const token = furthest(chain);
        tracker.tokens.end(chain);
        if (token) this.ended(tracker, token, "timeout", now);
      }
    }
  }

  private dropScopes(scopes: Scope[]): void {
    for (const scope of scopes) {
      for (const tracker of this.trackers) {
        const token = tracker.tokens.held.get(scope);
        if (token) tracker.tokens.remove(token);
      }
    }
  }

  private holdsToken(scope: Scope): boolean {
    return this.trackers.some((tracker) => tracker.tokens.held.has(scope));
  }

  /** The token of an IRQ scope closed by an exit that wakes its thread goes to the CPU's tail. */
  private toTail(scope: Scope, cpu: number): void {
    for (const tracker of this.trackers) {
      const token = tracker.tokens.held.get(scope);
      if (token) tracker.tokens.place(token, tracker.tokens.held, tailHolder(cpu));
    }
  }

  /** The CPU's IRQ tail ends: its token is dropped (broken if no waking took a copy). */
  private dropTail(cpu: number): void {
    for (const tracker of this.trackers) {
      const token = tracker.tokens.held.get(tailHolder(cpu));
      if (token) tracker.tokens.remove(token);
    }
  }

  private handle(t: ChainTracker, c: Current, number: (name: string) => number): void {
    const { id, event } = c;
    if (id === "irq:softirq_entry") this.enterSoftirq(t, c, number("vec"));
    if (id === "irq:tasklet_entry") this.enterTasklet(t, c);
    if (id === "sched:sched_switch") this.contextSwitch(t, c, number);
    if (id === t.steps[0].id) this.origin(t, c, number);
    this.steps(t, c);
    const tail = id === "sched:sched_waking" ? t.tokens.held.get(tailHolder(event.cpu)) : undefined;
    if (tail !== undefined) this.waking(t, c, tail, number("pid"));
    const token = t.tokens.held.get(c.holder);
    if (token === undefined) return;
    if (this.cancelled(t, c)) {
      t.tokens.end(token.chain);
      t.tracker.cancelled++;
      return;
    }
    if (id === "irq:softirq_raise") {
      const vec = number("vec");
      const copy = t.tokens.copy(token, stage(c, "raise", vecName(vec)));
      t.tokens.place(copy, t.tokens.raises, `${event.cpu}:${vec}`, true);
    }
    if (id === "sched:sched_waking") this.waking(t, c, token, number("pid"));
  }

  private cancelled(t: ChainTracker, c: Current): boolean {
    return t.cancels.some((k) => k.id === c.id && (k.filter === null || truthy(k.filter(c.view))));
  }

  private origin(t: ChainTracker, c: Current, number: (name: string) => number): void {
    const step = t.steps[0];
    if (step.filter !== null && !truthy(step.filter(c.view))) return;
    const detail =
      c.id === "irq:irq_handler_entry"
        ? `irq${number("irq")}`
        : c.id.startsWith("irq:softirq_")
          ? vecName(number("vec"))
          : "";
    const timeout = t.tracker.plan.timeoutNs;
    const deadline = timeout === null ? Number.POSITIVE_INFINITY : c.ts + timeout;
    const token = t.tokens.newChain(stage(c, "origin", detail), deadline);
    if (t.steps[1]?.via !== "key") {
      t.tokens.place(token, t.tokens.held, c.holder);
      return;
    }
    // `ORIGIN(k) -> STEP(k)`: reached at once, the token leaves for the hand-off table
    const key = keyOf(step, c.view);
    if (key !== undefined && t.tokens.place(token, t.tokens.handoffs, key)) {
      token.chain.moved = true;
    }
  }

  /** softirq_entry takes the oldest pending raise of its vector on its CPU. */
  private enterSoftirq(t: ChainTracker, c: Current, vec: number): void {
    const raised = t.tokens.raises.get(`${c.event.cpu}:${vec}`);
    if (raised === undefined) return;
    addStage(raised, stage(c, "softirq", vecName(vec)));
    t.tokens.place(raised, t.tokens.held, c.holder);
  }

  /** A tasklet runs inside a softirq: it carries that softirq's token. */
  private enterTasklet(t: ChainTracker, c: Current): void {
    const outer = this.contexts.outerScope(c.event.cpu);
    const token = outer && t.tokens.held.get(outer);
    if (token) t.tokens.place(t.tokens.copy(token, null), t.tokens.held, c.holder);
  }

  private waking(t: ChainTracker, c: Current, token: Token, pid: number): void {
    if (Number.isNaN(pid)) return;
    const fields = c.view.fields();
    const woken = {
      ...stage(c, "waking", ""),
      tid: pid,
      pid: -1,
      comm: ownString(fields?.get("comm") ?? ""),
    };
    const copy = t.tokens.copy(token, woken);
    const cpu = this.contexts.runningOn(pid);
    if (!t.tokens.place(copy, t.tokens.held, taskHolder(pid, cpu))) return;
    if (cpu < 0 || pid === 0) return;
    // Already running: a holder at once; it runs since the switch that put it on its CPU.
    addStage(copy, { ...woken, stage: "run", cpu, detail: "" });
    const switchIn = this.contexts.switchInOf(cpu);
    if (switchIn !== null)
      this.reachSwitchStep(t, copy, { ...c, event: switchIn, view: viewOf(switchIn) }, false);
  }

  private contextSwitch(t: ChainTracker, c: Current, number: (name: string) => number): void {
    const { event } = c;
    const fields = c.view.fields();
    const prev = t.tokens.held.get(taskHolder(number("prev_pid"), event.cpu));
    if (prev !== undefined) {
      const state = Number(taskStateFromText(fields?.get("prev_state") ?? "0"));
      const runnable = (state & 0xff) === 0;
      const at = stage(c, runnable ? "preempted" : "block", "");
      if (runnable) addStage(prev, at);
      else if (prev.atTarget) {
        addStage(prev, at);
        prev.stepTs.push(c.ts);
        t.tokens.end(prev.chain);
        this.ended(t, prev, "pair", c.ts);
      } else t.tokens.remove(prev);
    }
    const nextTid = number("next_pid");
    const next = t.tokens.held.get(taskHolder(nextTid, event.cpu));
    if (next === undefined) return;
    const comm = ownString(fields?.get("next_comm") ?? "");
    addStage(next, { ...stage(c, "run", ""), tid: nextTid, pid: -1, comm });
    this.reachSwitchStep(t, next, c, true);
  }

  /** A holder on the CPU: does this switch-in reach its next step (a sched_switch step)? */
  private reachSwitchStep(t: ChainTracker, token: Token, c: Current, live: boolean): void {
    const step = t.steps[token.step];
    if (step === undefined || !step.switchIn || token.atTarget) return;
    if (step.filter !== null && !truthy(step.filter(c.view))) return;
    this.reach(t, token, c.ts, live ? c : null);
  }

  /**
   * Waypoints and targets fired in a context holding the token, and `->` hand-offs. One
   * event reaches one step: `a ~> b ~> b` needs two events of b.
   */
  private steps(t: ChainTracker, c: Current): void {
    for (let k = 1; k < t.steps.length; k++) {
      const step = t.steps[k];
      if (step.id !== c.id || step.switchIn) continue;
      if (step.filter !== null && !truthy(step.filter(c.view))) continue;
      if (step.via === "key") {
        const key = keyOf(step, c.view);
        const token = key === undefined ? undefined : t.tokens.handoffs.get(key);
        if (token === undefined || token.step !== k) continue;
        if (!t.tokens.place(token, t.tokens.held, c.holder)) continue;
        addStage(token, stage(c, k === t.steps.length - 1 ? "target" : "waypoint", ""));
        this.reach(t, token, c.ts, c);
        return;
      }
      const token = t.tokens.held.get(c.holder);
      if (token === undefined || token.step !== k) continue;
      const last = token.stages[token.stages.length - 1];
      if (last.ts !== c.ts || last.probe !== c.id) {
        addStage(token, stage(c, k === t.steps.length - 1 ? "target" : "waypoint", ""));
      }
      this.reach(t, token, c.ts, c);
      const next = t.steps[k + 1];
      if (next?.via === "key") {
        const key = keyOf(step, c.view);
        if (key === undefined) t.tokens.remove(token);
        else t.tokens.place(token, t.tokens.handoffs, key);
      }
      return;
    }
  }

  /** Step `token.step` is reached at `ts`; the last one ends the chain or waits for a block. */
  private reach(t: ChainTracker, token: Token, ts: number, c: Current | null): void {
    token.stepTs.push(ts);
    token.step++;
    if (token.step < t.steps.length) return;
    const inTask = c === null || typeof c.holder !== "object";
    if (t.until === "block" && inTask) {
      token.atTarget = true;
      return;
    }
    t.tokens.end(token.chain);
    this.ended(t, token, "pair", ts);
  }
}

/** irqreturn_t IRQ_WAKE_THREAD: the handler asks for its thread (include/linux/irqreturn.h). */
const IRQ_WAKE_THREAD = 2;
/** irq_handler_exit's print format: `ret ? "handled" : "unhandled"` (not the number). */
const PRINTED_HANDLED = /\bret=handled\b/;

/** Where an IRQ's token waits, on its CPU, for the waking of the IRQ's thread. */
function tailHolder(cpu: number): Holder {
  return `irqtail:${cpu}`;
}

function stage(c: Current, kind: StageKind, detail: string): Stage {
  const e = c.event;
  return {
    stage: kind,
    probe: c.id,
    ts: c.ts,
    sec: e.sec,
    nsec: e.nsec,
    cpu: e.cpu,
    tid: e.tid,
    pid: e.pid,
    comm: ownString(e.comm),
    detail,
  };
}

function keyOf(step: CompiledStep, view: EventView): Value | undefined {
  const values: Value[] = [];
  for (const k of step.key) {
    const v = k(view);
    if (v === undefined) return undefined;
    values.push(v);
  }
  return keyOfValues(values);
}

function intOf(text: string | undefined): number {
  return text === undefined ? Number.NaN : Number.parseInt(text, 10);
}

function vecName(vec: number): string {
  return SOFTIRQ_NAMES[vec] ?? `vec${vec}`;
}

/** A sched_switch kept for later (the reader reuses its event objects). */
function copyEvent(event: TraceEvent): TraceEvent {
  return {
    lineNo: event.lineNo,
    line: "",
    name: event.name,
    category: event.category,
    sec: event.sec,
    nsec: event.nsec,
    cpu: event.cpu,
    tid: event.tid,
    pid: event.pid,
    comm: ownString(event.comm),
    payload: Buffer.from(event.payload, "utf8").toString("utf8"),
    ...(event.fields ? { fields: event.fields } : {}),
  };
}

function viewOf(event: TraceEvent): EventView {
  let parsed: ReturnType<EventView["fields"]> | undefined;
  return {
    event,
    fields: () => {
      parsed ??= eventFields(event);
      return parsed;
    },
  };
}
