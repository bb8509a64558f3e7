// The execution contexts a chain tracker follows, as one table: which tracepoints open and
// close a scope on a CPU (hard IRQ, softirq, tasklet, timer callbacks, x86 vectors) and
// which move a chain between contexts. The checker, the replay interpreter and
// `ltsh record --for-file` all read it, so the three agree on what a chain needs.

export type ScopeKind = "irq" | "softirq" | "tasklet" | "hrtimer" | "timer" | "vector";

export interface ScopeEvents {
  kind: ScopeKind;
  entry: string;
  exit: string;
  /**
   * Entered by hardware (an interrupt, a timer): no rule carries a chain into it, so it
   * can only be a chain's origin. A softirq takes the chain of its raise; a tasklet the
   * chain of the softirq it runs in.
   */
  startsEmpty: boolean;
}

export const SCOPES: ScopeEvents[] = [
  { kind: "irq", entry: "irq:irq_handler_entry", exit: "irq:irq_handler_exit", startsEmpty: true },
  { kind: "softirq", entry: "irq:softirq_entry", exit: "irq:softirq_exit", startsEmpty: false },
  { kind: "tasklet", entry: "irq:tasklet_entry", exit: "irq:tasklet_exit", startsEmpty: false },
  {
    kind: "hrtimer",
    entry: "timer:hrtimer_expire_entry",
    exit: "timer:hrtimer_expire_exit",
    startsEmpty: true,
  },
  {
    kind: "timer",
    entry: "timer:timer_expire_entry",
    exit: "timer:timer_expire_exit",
    startsEmpty: true,
  },
];

/** x86 `irq_vectors:*_entry` / `*_exit` pairs (local_timer, reschedule, call_function, …). */
export const VECTOR_CATEGORY = "irq_vectors";
/** Their names, for traces that print bare event names (tracefs text). */
export const VECTOR_NAMES = [
  "local_timer",
  "reschedule",
  "call_function",
  "call_function_single",
  "irq_work",
  "error_apic",
  "spurious_apic",
  "thermal_apic",
  "x86_platform_ipi",
  "deferred_error_apic",
  "threshold_apic",
];

/** Events that move a chain (besides scope entries and exits). */
export const PROPAGATION_EVENTS = ["irq:softirq_raise", "sched:sched_waking", "sched:sched_switch"];

/** The scope an event opens or closes, by "category:name"; null for other events. */
export function scopeOf(
  id: string,
): { scope: ScopeEvents | null; kind: ScopeKind; edge: "entry" | "exit" } | null {
  for (const scope of SCOPES) {
    if (scope.entry === id) return { scope, kind: scope.kind, edge: "entry" };
    if (scope.exit === id) return { scope, kind: scope.kind, edge: "exit" };
  }
  const [category, name] = id.split(":");
  if (category !== VECTOR_CATEGORY) return null;
  if (name.endsWith("_entry")) return { scope: null, kind: "vector", edge: "entry" };
  if (name.endsWith("_exit")) return { scope: null, kind: "vector", edge: "exit" };
  return null;
}

/** True for an event that opens a scope no chain can enter (a chain may only start there). */
export function startsEmptyScope(id: string): boolean {
  const found = scopeOf(id);
  return found !== null && found.edge === "entry" && (found.scope?.startsEmpty ?? true);
}

/** Every tracepoint a chain tracker needs besides its own probes (for `ltsh record`). */
export function chainContextEvents(): string[] {
  return [
    ...SCOPES.flatMap((s) => [s.entry, s.exit]),
    ...PROPAGATION_EVENTS,
    ...VECTOR_NAMES.flatMap((v) => [
      `${VECTOR_CATEGORY}:${v}_entry`,
      `${VECTOR_CATEGORY}:${v}_exit`,
    ]),
  ];
}

/** Softirq vector names as the kernel prints them (softirq_raise's `action=`). */
export const SOFTIRQ_NAMES = [
  "HI",
  "TIMER",
  "NET_TX",
  "NET_RX",
  "BLOCK",
  "IRQ_POLL",
  "TASKLET",
  "SCHED",
  "HRTIMER",
  "RCU",
];
