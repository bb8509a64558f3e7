// One tracker's state in the replay interpreter: its plan compiled to closures, its
// pending begins and counters; and the small value helpers the pending table relies on.

import { hasAction } from "../compiler/actions.ts";
import type { ProbePlan, ProbeSide, TrackerPlan } from "../compiler/plan.ts";
import { LatencyStats } from "../records/stats.ts";
import type { ChainTracker } from "./chain.ts";
import type { TraceEvent } from "./event.ts";
import { type Compiled, compileExpr, type Value } from "./expr.ts";

export interface CompiledSide {
  probe: ProbePlan;
  /** The key expressions, compiled; one per part of the tracker's key. */
  key: Compiled[];
  filter: Compiled | null;
  /** Index among the tracker's begins (or ends). */
  alternative: number;
  /** plan.captures read at this probe; null where it has no such field. */
  captures: (Compiled | null)[];
}

/**
 * A pending begin: its context copied out of the trace line (a line points into a whole
 * chunk of the file, which must not stay in memory while the begin waits), in one object.
 */
export interface PendingBegin extends BeginContext {
  /** Trace time in ns relative to the first event (exact in a double). */
  ts: number;
  deadline: number;
  probe: string;
  /** The key: its one value, or its parts when it has several. */
  key: Value | Value[];
  alternative: number;
  /** plan.captures' values at the begin; null when the plan captures nothing. */
  captured: (Value | undefined)[] | null;
}

export class Tracker {
  readonly stats: LatencyStats;
  readonly pending = new Map<Value, PendingBegin>();
  readonly begins: CompiledSide[];
  readonly ends: CompiledSide[];
  /** `cancel` clauses: an event with a pending key forgets that begin. */
  readonly cancels: CompiledSide[];
  /** Begins forgotten by a cancel. */
  cancelled = 0;
  /** Chain trackers: their state machine (the interpreter sets it). */
  chain: ChainTracker | null = null;
  stopped = false;
  nextDeadline = Number.POSITIVE_INFINITY;
  /** Some key part is a string (a comm): copied out of the line when a begin is kept. */
  readonly stringKeys: boolean;

  constructor(
    readonly plan: TrackerPlan,
    warn: (message: string) => void,
  ) {
    this.stats = new LatencyStats(plan.name);
    const captures = plan.captures ?? [];
    const compileSide =
      (role: "begins" | "ends" | null) =>
      (side: ProbeSide, alternative: number): CompiledSide => ({
        probe: side.probe,
        key: side.key.map((k) => compileExpr(k, warn)),
        filter: side.filter ? compileExpr(side.filter, warn) : null,
        alternative,
        captures: captures.map((c) => {
          const expr = role && c[role][alternative];
          return expr ? compileExpr(expr, warn) : null;
        }),
      });
    this.begins = plan.begins.map(compileSide("begins"));
    this.ends = plan.ends.map(compileSide("ends"));
    this.cancels = (plan.cancels ?? []).map(compileSide(null));
    this.stringKeys = plan.keyTypes.some((t) => t.kind === "string");
    if (hasAction(plan, "stack")) {
      warn(`${plan.name}: stack is unavailable in replay (the trace has no kernel stacks)`);
    }
  }
}

export type BeginContext = Pick<TraceEvent, "sec" | "nsec" | "cpu" | "tid" | "pid" | "comm">;

/** Comms repeat: one flat copy of each, shared, instead of slices of file chunks. */
const ownedStrings = new Map<string, string>();

export function ownString(text: string): string {
  let owned = ownedStrings.get(text);
  if (owned === undefined) {
    if (ownedStrings.size > 100_000) ownedStrings.clear();
    owned = Buffer.from(text, "utf8").toString("utf8");
    ownedStrings.set(owned, owned);
  }
  return owned;
}

/** sec.nsec as exact integer nanoseconds (one BigInt conversion while a double is exact). */
export function timestampNs(sec: number, nsec: number): bigint {
  const ns = sec * 1e9 + nsec;
  return Number.isSafeInteger(ns) ? BigInt(ns) : BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

export function ownValue(value: Value): Value {
  return typeof value === "string" ? ownString(value) : value;
}

/**
 * The pending table's key: a one-part key is its own value (integers are numbers while
 * exact, bigints beyond, so equal values are equal keys); longer keys are joined.
 */
export function keyOfValues(values: Value[]): Value {
  return values.length === 1 ? values[0] : values.join("\u0001");
}
