// The reference interpreter: runs TrackerPlans over a stream of replayed events, in one
// pass for every tracker. Its semantics are the ones grammar/README.md states ("Semantics");
// live backends are checked against it.

import type { TrackerPlan } from "../compiler/plan.ts";
import { traceEventNames } from "../compiler/probes.ts";
import type { EventContext, HitRecord, KeyValue, SummaryRecord } from "../records/types.ts";
import { capturedValues, withCaptures } from "./captures.ts";
import { type ChainEnded, ChainEngine, ChainTracker } from "./chain.ts";
import { chainHit, chainSummary, recordChainPair } from "./chain-records.ts";
import type { TraceEvent } from "./event.ts";
import { type EventView, truthy, type Value } from "./expr.ts";
import { eventFields, type FieldText } from "./fields.ts";
import { TraceError } from "./reader.ts";
import {
  type BeginContext,
  type CompiledSide,
  keyOfValues,
  ownString,
  ownValue,
  type PendingBegin,
  Tracker,
  timestampNs,
} from "./tracker.ts";

export interface InterpreterOptions {
  hit(hit: HitRecord): void;
  warning(message: string): void;
  /** A probe event whose fields cannot be read is fatal (--strict) instead of counted. */
  strict?: boolean;
  /** For messages: the trace's name. */
  traceName?: string;
}

/** One probe of one tracker, as the dispatch table lists it under its event name. */
interface Handler {
  tracker: Tracker;
  role: "begin" | "end" | "cancel";
  side: CompiledSide;
  seen: boolean;
}

/** The lazily parsed fields of the event being dispatched, shared by every handler. */
class View implements EventView {
  private parsed: FieldText | null | undefined;
  malformed = false;
  constructor(public event: TraceEvent) {}

  /** One View serves every event in turn (no allocation per event). */
  reset(event: TraceEvent): this {
    this.event = event;
    this.parsed = undefined;
    this.malformed = false;
    return this;
  }
  fields(): FieldText | null {
    if (this.parsed === undefined) {
      this.parsed = eventFields(this.event);
      if (this.parsed === null) this.malformed = true;
    }
    return this.parsed;
  }
}

/** Begins still open: a plain tracker's pending keys, a chain tracker's live chains. */
function pendingOf(tracker: Tracker): number {
  return tracker.chain ? tracker.chain.tokens.chains.size : tracker.pending.size;
}

export class Interpreter {
  private readonly trackers: Tracker[] = [];
  private readonly dispatch = new Map<string, Handler[]>();
  private readonly warned = new Set<string>();
  private baseSec: number | null = null;
  private now = Number.NEGATIVE_INFINITY;
  private timed: Tracker[] = [];
  private chains: ChainEngine | null = null;
  private readonly view = new View({} as TraceEvent);
  /** Probe events whose text did not have the shape their event prints. */
  malformedEvents = 0;
  firstMalformed: { lineNo: number; name: string } | null = null;

  constructor(private readonly options: InterpreterOptions) {}

  readonly warn = (message: string): void => {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.warning(message);
  };

  add(plan: TrackerPlan): void {
    const tracker = new Tracker(plan, this.warn);
    this.trackers.push(tracker);
    if (plan.chain) {
      this.chains ??= new ChainEngine(this.chainEnded);
      tracker.chain = new ChainTracker(tracker, this.warn);
      this.chains.add(tracker.chain);
    } else {
      this.addHandlers(tracker);
      if (plan.timeoutNs !== null) this.timed.push(tracker);
    }
  }

  /**
   * Ends before cancels before begins: an event that closes a pair and opens the next
   * (same key) does both; a cancel on the same event as an end has nothing left to forget.
   */
  private addHandlers(tracker: Tracker): void {
    const sides = [
      ...tracker.ends.map((side) => ({ role: "end" as const, side })),
      ...tracker.cancels.map((side) => ({ role: "cancel" as const, side })),
      ...tracker.begins.map((side) => ({ role: "begin" as const, side })),
    ];
    for (const { role, side } of sides) {
      const handler: Handler = { tracker, role, side, seen: false };
      for (const name of traceEventNames(side.probe)) {
        const list = this.dispatch.get(name) ?? [];
        list.push(handler);
        this.dispatch.set(name, list);
      }
    }
  }

  /** Names of the events some tracker listens to (readers may skip parsing the others). */
  eventNames(): Set<string> {
    return new Set([...this.dispatch.keys(), ...(this.chains?.eventNames() ?? [])]);
  }

  stop(name: string): void {
    for (const t of this.trackers) if (t.plan.name === name) t.stopped = true;
  }

  /** Feeds one event; events must come in trace order. */
  feed(event: TraceEvent): void {
    if (this.baseSec === null) this.baseSec = event.sec;
    const ts = (event.sec - this.baseSec) * 1e9 + event.nsec;
    if (ts > this.now) this.now = ts;
    else if (ts < this.now) this.timeWentBack(event);
    for (const tracker of this.timed) if (this.now > tracker.nextDeadline) this.expire(tracker);
    const view = this.view.reset(event);
    if (this.chains !== null) {
      this.chains.expire(this.now);
      this.chains.feed(event, view, ts);
    }
    const handlers = this.dispatch.get(event.name);
    if (handlers === undefined) {
      this.countMalformed(view, event);
      return;
    }
    // One begin and one end per tracker and event: the first alternative that applies.
    let closedFor: Tracker | null = null;
    let begunFor: Tracker | null = null;
    for (const handler of handlers) {
      const { side, tracker } = handler;
      // A user-space probe's category is its uprobe_events group (ltsh_<pid>), not its kind.
      if (event.category !== "" && !side.probe.user && event.category !== side.probe.category)
        continue;
      handler.seen = true;
      if (tracker.stopped) continue;
      if ((handler.role === "end" ? closedFor : begunFor) === tracker) continue;
      if (side.filter !== null && !truthy(side.filter(view))) continue;
      // A one-part key is its own table key: no array, no string, for most trackers.
      const key = side.key.length === 1 ? side.key[0](view) : this.keyOf(side, view);
      if (key === undefined) continue;
      if (handler.role === "begin") {
        this.begin(tracker, side, key, event, ts);
        begunFor = tracker;
      } else if (handler.role === "cancel") {
        this.cancel(tracker, key);
      } else if (this.end(tracker, side, key, event, ts)) {
        closedFor = tracker;
      }
    }
    this.countMalformed(view, event);
  }

  private countMalformed(view: View, event: TraceEvent): void {
    if (view.malformed) {
      if (this.options.strict) {
        const where = `${this.options.traceName ?? "trace"}:${event.lineNo}`;
        throw new TraceError(
          `${where}: malformed ${event.name} event: fields not in the shape it prints`,
        );
      }
      this.malformedEvents++;
      this.firstMalformed ??= { lineNo: event.lineNo, name: event.name };
    }
  }

  /** The semantics need events in time order: say so once when a trace is not. */
  private timeWentBack(event: TraceEvent): void {
    this.warn(
      `trace time goes back at line ${event.lineNo} (the trace is not in time order: ` +
        "concatenated or unsorted?); pairs across that point are wrong",
    );
  }

  /** End of the trace: pending begins are counted, probes never seen are reported. */
  finish(traceName: string): void {
    for (const tracker of this.trackers) tracker.stats.pending = pendingOf(tracker);
    const stale = this.chains?.contexts.staleScopes ?? 0;
    if (stale > 0) {
      this.warn(
        `${stale} interrupt or softirq scopes were closed without their exit event (missed events, or the trace starts or ends inside one)`,
      );
    }
    const handledAsWord = this.chains?.handledAsWord ?? 0;
    if (handledAsWord > 0) {
      this.warn(
        `${handledAsWord} IRQ handler exits ending a chain's IRQ scope print ret=handled, which is also what a threaded IRQ waking its thread (IRQ_WAKE_THREAD) prints: such a chain is not followed to the IRQ's thread (ltsh record writes the number)`,
      );
    }
    const unseen = new Set<string>();
    for (const handlers of this.dispatch.values()) {
      for (const h of handlers) if (!h.seen) unseen.add(h.side.probe.id);
    }
    for (const probe of unseen) {
      this.warn(
        `${probe} never occurs in ${traceName} (not recorded, or it did not happen; ltsh record --for-file FILE.lt records every probe)`,
      );
    }
  }

  /** A chain tracker's token copies alive now (bounded by its capacity); null for others. */
  liveTokens(name: string): number | null {
    const tracker = this.trackers.find((t) => t.plan.name === name);
    return tracker?.chain ? tracker.chain.tokens.size : null;
  }

  summaries(): SummaryRecord[] {
    return this.trackers.map((t) => this.summaryOf(t));
  }

  summaryOf(tracker: Tracker): SummaryRecord {
    tracker.stats.pending = pendingOf(tracker);
    const summary = tracker.stats.summary();
    if (tracker.chain === null) return { ...summary, cancelled: tracker.cancelled, broken: 0 };
    return chainSummary(tracker.chain, summary);
  }

  trackerSummaries(): { name: string; stopped: boolean; summary: SummaryRecord }[] {
    return this.trackers.map((t) => ({
      name: t.plan.name,
      stopped: t.stopped,
      summary: this.summaryOf(t),
    }));
  }

  /** A key of several parts: their values, or undefined when one is unavailable. */
  private keyOf(side: CompiledSide, view: View): Value[] | undefined {
    const key: Value[] = new Array(side.key.length);
    for (let i = 0; i < side.key.length; i++) {
      const value = side.key[i](view);
      if (value === undefined) return undefined;
      key[i] = value;
    }
    return key;
  }

  private begin(
    tracker: Tracker,
    side: CompiledSide,
    key: Value | Value[],
    event: TraceEvent,
    ts: number,
  ): void {
    const id = Array.isArray(key) ? keyOfValues(key) : key;
    const pending = tracker.pending;
    const existing = pending.get(id);
    if (existing !== undefined && tracker.plan.keep === "first") return;
    if (existing === undefined && pending.size >= tracker.plan.capacity) {
      tracker.stats.dropped++;
      return;
    }
    const timeout = tracker.plan.timeoutNs;
    const deadline = timeout === null ? Number.POSITIVE_INFINITY : ts + timeout;
    // Re-inserting moves the key to the back, so the map stays in deadline order.
    if (existing !== undefined) pending.delete(id);
    pending.set(id, {
      ts,
      deadline,
      sec: event.sec,
      nsec: event.nsec,
      cpu: event.cpu,
      tid: event.tid,
      pid: event.pid,
      comm: ownString(event.comm),
      probe: side.probe.id,
      key: !tracker.stringKeys ? key : Array.isArray(key) ? key.map(ownValue) : ownValue(key),
      alternative: side.alternative,
      captured: side.captures.length > 0 ? capturedValues(side, this.view) : null,
    });
    if (deadline < tracker.nextDeadline) tracker.nextDeadline = deadline;
  }

  private cancel(tracker: Tracker, key: Value | Value[]): void {
    const id = Array.isArray(key) ? keyOfValues(key) : key;
    if (tracker.pending.delete(id)) tracker.cancelled++;
  }

  private readonly chainEnded: ChainEnded = (chain, token, kind, now) => {
    const tracker = chain.tracker;
    const origin = token.stages[0];
    const last = token.stages[token.stages.length - 1];
    const latency = kind === "pair" ? last.ts - origin.ts : now - origin.ts;
    if (kind === "timeout") tracker.stats.timeouts++;
    else {
      recordChainPair(chain, token, latency);
      const threshold = tracker.plan.thresholdNs;
      if (threshold === null || latency <= threshold) return;
      tracker.stats.hits++;
    }
    const hit = chainHit(tracker.plan.name, kind, latency, token.stages);
    this.options.hit(hit);
  };

  private end(
    tracker: Tracker,
    side: CompiledSide,
    key: Value | Value[],
    event: TraceEvent,
    ts: number,
  ): boolean {
    const id = Array.isArray(key) ? keyOfValues(key) : key;
    const begin = tracker.pending.get(id);
    if (begin === undefined) return false;
    tracker.pending.delete(id);
    const latency = ts - begin.ts;
    tracker.stats.recordPair(latency);
    const threshold = tracker.plan.thresholdNs;
    if (threshold !== null && latency > threshold) {
      tracker.stats.hits++;
      const hit = this.hitRecord(tracker, "threshold", latency, begin, event, side.probe.id);
      this.options.hit(withCaptures(tracker.plan, hit, begin, side, this.view));
    }
    return true;
  }

  /** Timeouts: every pending begin whose deadline trace time has passed gives one hit. */
  private expire(tracker: Tracker): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, begin] of tracker.pending) {
      if (begin.deadline >= this.now) {
        next = begin.deadline;
        break;
      }
      tracker.pending.delete(id);
      if (tracker.stopped) continue;
      tracker.stats.timeouts++;
      const waited = this.now - begin.ts;
      const hit = this.hitRecord(tracker, "timeout", waited, begin, null, "");
      this.options.hit(withCaptures(tracker.plan, hit, begin, null, this.view));
    }
    tracker.nextDeadline = next;
  }

  private context(event: BeginContext, probe: string): EventContext {
    return {
      probe,
      ts_ns: timestampNs(event.sec, event.nsec),
      cpu: event.cpu,
      tid: event.tid,
      pid: event.pid,
      comm: event.comm,
    };
  }

  private hitRecord(
    tracker: Tracker,
    kind: "threshold" | "timeout",
    latency: number,
    begin: PendingBegin,
    end: TraceEvent | null,
    endProbe: string,
  ): HitRecord {
    const parts = Array.isArray(begin.key) ? begin.key : [begin.key];
    const key: KeyValue[] = parts.map((v) => (typeof v === "string" ? v : BigInt(v)));
    return {
      type: "hit",
      tracker: tracker.plan.name,
      kind,
      latency_ns: latency,
      key,
      begin: this.context(begin, begin.probe),
      end: end === null ? null : this.context(end, endProbe),
      snapshot: null,
      stack: null,
    };
  }
}
