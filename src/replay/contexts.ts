// Per-CPU execution contexts for chain trackers: the stack of open scopes on each CPU
// (hard IRQ, softirq, tasklet, timer callbacks, x86 vectors) and the task running there.
// The scope table is src/compiler/contexts.ts; the rules are grammar/README.md "Chains".

import { type ScopeKind, scopeOf } from "../compiler/contexts.ts";
import type { TraceEvent } from "./event.ts";

/** An open scope. Scopes are their own identity: a holder key for the chain tables. */
export interface Scope {
  kind: ScopeKind;
  /** irq number, softirq vector, or -1 (timers, vectors, tasklets). */
  id: number;
  cpu: number;
}

/** Where a token lives: a scope, a task (its tid), or the idle task of a CPU ("idle:N"). */
export type Holder = Scope | number | string;

interface CpuState {
  scopes: Scope[];
  /** The task running (tid), as the latest event on this CPU says; -1 before any. */
  current: number;
  /** The sched_switch that put `current` on the CPU, when the trace has it. */
  switchIn: TraceEvent | null;
}

export class ExecutionContexts {
  private readonly cpus: CpuState[] = [];
  /** Scopes closed without their exit event (missed events, or a trace cut inside one). */
  staleScopes = 0;

  private cpu(n: number): CpuState {
    let state = this.cpus[n];
    if (state === undefined) {
      state = { scopes: [], current: -1, switchIn: null };
      this.cpus[n] = state;
    }
    return state;
  }

  /** The context an event on `cpu` run by `tid` happens in. */
  holderOf(cpu: number, tid: number): Holder {
    const scopes = this.cpu(cpu).scopes;
    return scopes.length > 0 ? scopes[scopes.length - 1] : taskHolder(tid, cpu);
  }

  /** The scope around the innermost one on `cpu` (a tasklet's softirq), if any. */
  outerScope(cpu: number): Scope | undefined {
    const scopes = this.cpu(cpu).scopes;
    return scopes[scopes.length - 2];
  }

  /** The CPU `tid` is running on, or -1. */
  runningOn(tid: number): number {
    for (let n = 0; n < this.cpus.length; n++) if (this.cpus[n]?.current === tid) return n;
    return -1;
  }

  switchInOf(cpu: number): TraceEvent | null {
    return this.cpu(cpu).switchIn;
  }

  /**
   * Before an event is dispatched: a scope entry opens its scope (the entry event happens
   * inside it). Returns the scopes closed as stale: a softirq or a context switch never
   * happens inside another scope, and an IRQ handler does not nest in itself.
   */
  enter(event: TraceEvent, id: string, vectorOrIrq: number): Scope[] {
    const state = this.cpu(event.cpu);
    if (event.name !== "sched_switch") state.current = event.tid;
    const found = scopeOf(id);
    if (found === null || found.edge !== "entry") return [];
    let stale: Scope[] = [];
    if (found.kind === "softirq") stale = state.scopes.splice(0);
    else if (found.kind === "irq") {
      const same = state.scopes.findIndex((s) => s.kind === "irq" && s.id === vectorOrIrq);
      if (same >= 0) stale = state.scopes.splice(same);
    }
    this.staleScopes += stale.length;
    state.scopes.push({ kind: found.kind, id: vectorOrIrq, cpu: event.cpu });
    return stale;
  }

  /** After an event: an exit closes its scope (and any left open inside it). */
  exit(event: TraceEvent, id: string): Scope[] {
    const found = scopeOf(id);
    if (found === null || found.edge !== "exit") return [];
    const scopes = this.cpu(event.cpu).scopes;
    let at = scopes.length - 1;
    while (at >= 0 && scopes[at].kind !== found.kind) at--;
    // An exit with no open scope: the trace began inside it. Nothing to close.
    if (at < 0) return [];
    const closed = scopes.splice(at);
    this.staleScopes += closed.length - 1;
    return closed;
  }

  /** A context switch on a CPU: every scope still open there missed its exit. */
  switchTo(event: TraceEvent, nextTid: number): Scope[] {
    const state = this.cpu(event.cpu);
    const stale = state.scopes.splice(0);
    this.staleScopes += stale.length;
    state.current = nextTid;
    state.switchIn = event;
    return stale;
  }
}

export function taskHolder(tid: number, cpu: number): Holder {
  return tid === 0 ? `idle:${cpu}` : tid;
}
