// The "ebpf" backend (live tracing, the default): trackers compiled to BPF and run in this kernel. Hits arrive through
// one shared ring buffer; stats are read from per-CPU maps; timeouts of begins that never
// end are found by a user-space sweep (see sweepPeriodMs); everything is closed on exit/signals.

import { release } from "node:os";
import { hasAction } from "../compiler/actions.ts";
import { Hit, RINGBUF_REF } from "../compiler/bpf/layout.ts";
import { ringbufSpec, type TrackerObject } from "../compiler/bpf/object.ts";
import { DEFERRED_DRAIN_MS, submitFlags } from "../compiler/bpf/ring-wakeup.ts";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import { closeFd, countsSkippedRuns, createMap } from "../kernel/bpf.ts";
import { onCleanup } from "../kernel/cleanup.ts";
import type { KernelSymbols } from "../kernel/kallsyms.ts";
import { checkLivePermissions } from "../kernel/permissions.ts";
import { RingBufferReader } from "../kernel/ringbuf.ts";
import { LatencyStats } from "../records/stats.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import type { SessionOptions } from "./backends.ts";
import { HitActions } from "./hit-actions.ts";
import { ProbedBinaries } from "./live-binaries.ts";
import { decodeChainHit, segmentNames, segmentSummary } from "./live-chain.ts";
import { decodeHit } from "./live-decode.ts";
import { LiveTracker } from "./live-tracker.ts";
import type { Artifact, Session, SessionListener, TrackerStats } from "./types.ts";

/** A tracker's generated programs, maps and layout, ready to load (or to cache). */
export interface LiveArtifact extends Artifact {
  backend: "ebpf";
  object: TrackerObject;
}

/**
 * Timeouts of begins whose end never comes are found by sweeping the pending table from user
 * space (ends arriving late are judged exactly, in the kernel). A tracker is swept every
 * timeout/100, between SWEEP_MS and MAX_SWEEP_MS: a timeout hit comes at most 1% of the
 * timeout (at least 10 ms) after its deadline. A sweep is one pass over the mmap-ed table
 * (no system call), claiming each expired slot with the programs' own cmpxchg so that an end
 * and the sweep never both report one begin; the HASH table (`pending.table = "hash"`, for
 * comparisons) costs bpf(2) calls per pending begin (live-pending-table.ts).
 */
export const SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;

export function sweepPeriodMs(timeoutNs: number): number {
  return Math.min(MAX_SWEEP_MS, Math.max(SWEEP_MS, timeoutNs / 100 / 1e6));
}

/**
 * Polled stats (the shell, a Prometheus scrape) report pending begins counted at most this
 * long ago. Trackers with a timeout are counted by their sweeps for free; the others are
 * recounted in the background, a few per REFRESH_TICK_MS, once someone polls: a poll never
 * pays for scanning every table at once (50 trackers' tables take ~9 ms to scan).
 */
const PENDING_REFRESH_MS = 1000;
const REFRESH_TICK_MS = 100;
/** How often the probed binaries are checked for a replacement (live-binaries.ts). */
const BINARY_CHECK_MS = 1000;

/** A runtime problem the user can act on: printed as its message, no stack. */
export class LiveSessionError extends Error {
  override name = "LiveSessionError";
  readonly isUserFacing = true;
}

function monotonicNs(): bigint {
  return process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
}

export class LiveSession implements Session {
  readonly backend = "live eBPF";
  private readonly trackers: LiveTracker[] = [];
  private readonly finished: SummaryRecord[] = [];
  private readonly reader: RingBufferReader;
  private sweeper: NodeJS.Timeout | null = null;
  /** Drains the ring for hits submitted without a wakeup (src/compiler/bpf/ring-wakeup.ts). */
  private drainer: NodeJS.Timeout | null = null;
  private refresher: NodeJS.Timeout | null = null;
  private readonly binaries = new ProbedBinaries();
  /** The warning that this kernel keeps `missed` at 0 is said once per session. */
  private saidMissedUncounted = false;
  private binaryChecker: NodeJS.Timeout | null = null;
  private symbols: KernelSymbols | null = null;
  private readonly actions: HitActions;
  private readonly unregister: () => void;
  private closed = false;
  /** The index (hit records' tag) of the next tracker generated here; never reused. */
  private nextIndex = 0;

  private constructor(
    private readonly ringbuf: { fd: number; size: number },
    private readonly listener: SessionListener,
    private readonly options: Record<string, OptionValue>,
  ) {
    this.actions = new HitActions(options, listener);
    this.reader = new RingBufferReader(ringbuf.fd, ringbuf.size);
    this.reader.start((bytes) => this.onRecord(bytes));
    this.unregister = onCleanup(() => this.closeSync());
  }

  static open(options: SessionOptions): LiveSession {
    const permitted = checkLivePermissions();
    if (!permitted.ok) throw new LiveSessionError(permitted.message);
    const size = options.options["ringbuf.size"];
    const spec = ringbufSpec(typeof size === "number" ? size : undefined);
    const fd = createMap(spec);
    try {
      return new LiveSession({ fd, size: spec.maxEntries }, options.listener, options.options);
    } catch (error) {
      closeFd(fd);
      throw error;
    }
  }

  /** Generates the tracker's programs; the code generator loads on first use. */
  async compile(plan: TrackerPlan): Promise<LiveArtifact> {
    if (this.closed) throw new Error("the live session is closed");
    // Taken before the first await: concurrent compiles get distinct indexes.
    const index = this.nextIndex++;
    const { generateLiveTracker } = await import("./live-codegen.ts");
    return { backend: "ebpf", plan, object: generateLiveTracker(plan, index, this.options) };
  }

  async add(plan: TrackerPlan): Promise<void> {
    await this.load(await this.compile(plan));
  }

  /**
   * Loads and attaches a tracker's programs (from compile(), or the compiled cache): its
   * layout's index must be unused in this session, as hit records carry it.
   */
  async load(artifact: Artifact): Promise<void> {
    await this.loadAll([artifact]);
  }

  /**
   * Loads every tracker's programs, then attaches them all: the verifier's time for one
   * (seconds under TCG) blocks the reader, and a tracker attached meanwhile would fill the
   * ring. A tracker that fails to load closes those loaded before it.
   */
  async loadAll(artifacts: Artifact[]): Promise<void> {
    const loaded: LiveTracker[] = [];
    try {
      for (const artifact of artifacts) {
        const tracker = await this.prepare(artifact, loaded);
        // the trackers already running: their hits are read between two programs' loads
        tracker.load(() => this.reader.drain());
        loaded.push(tracker);
      }
    } catch (error) {
      for (const t of loaded) t.close();
      throw error;
    }
    for (const [i, tracker] of loaded.entries()) {
      try {
        tracker.attach();
      } catch (error) {
        for (const t of loaded.slice(i + 1)) t.close();
        throw error;
      }
      this.started(tracker);
    }
  }

  /** A tracker for `artifact`, its actions ready; checked against those running and `loading`. */
  private async prepare(artifact: Artifact, loading: LiveTracker[]): Promise<LiveTracker> {
    if (this.closed) throw new Error("the live session is closed");
    if (artifact.backend !== "ebpf")
      throw new Error(`a ${artifact.backend} tracker cannot run live`);
    const { object } = artifact as LiveArtifact;
    const plan = object.layout.plan;
    const others = [...this.trackers, ...loading];
    if (others.some((t) => t.name === plan.name)) {
      throw new Error(`a tracker named ${plan.name} is already running`);
    }
    if (others.some((t) => t.object.layout.index === object.layout.index)) {
      throw new Error(`tracker index ${object.layout.index} is already in use`);
    }
    this.nextIndex = Math.max(this.nextIndex, object.layout.index + 1);
    // Actions' modules load on first use: a plain run starts faster without them.
    if (hasAction(plan, "stack")) {
      this.symbols ??= (await import("../kernel/kallsyms.ts")).KernelSymbols.load();
    }
    await this.actions.prepare(plan);
    if (this.closed) throw new Error("the live session is closed");
    return new LiveTracker(object, { ref: RINGBUF_REF, fd: this.ringbuf.fd });
  }

  /** An attached tracker joins the session, with the timers its plan needs. */
  private started(tracker: LiveTracker): void {
    const { object } = tracker;
    const plan = object.layout.plan;
    const kernel = release();
    if (!this.saidMissedUncounted && !countsSkippedRuns(kernel)) {
      this.saidMissedUncounted = true;
      this.listener.warning(
        `Linux ${kernel} does not count an event it keeps from a tracker's program ` +
          "because another BPF program is running on that CPU (Linux 6.7 and later count them): " +
          "`missed` reads 0 here even when such events are lost",
      );
    }
    this.trackers.push(tracker);
    this.binaries.add(plan);
    if (!this.binaries.empty && this.binaryChecker === null) {
      this.binaryChecker = setInterval(() => this.checkBinaries(), BINARY_CHECK_MS);
      this.binaryChecker.unref();
    }
    if (plan.timeoutNs !== null && this.sweeper === null) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    const unwoken = object.programs.some((p) => submitFlags(p.probe) !== 0);
    if (unwoken && this.drainer === null) {
      this.drainer = setInterval(() => this.reader.drain(), DEFERRED_DRAIN_MS);
      this.drainer.unref();
    }
  }

  async stop(name: string): Promise<void> {
    this.find(name)?.stop(() => this.reader.drain());
  }

  async remove(name: string): Promise<void> {
    const tracker = this.find(name);
    if (!tracker) return;
    tracker.stop(() => this.reader.drain());
    this.reader.drain();
    this.finished.push(this.summary(tracker));
    this.warnLostHits(tracker);
    tracker.close();
    this.trackers.splice(this.trackers.indexOf(tracker), 1);
  }

  stats(): TrackerStats[] {
    if (this.refresher === null && !this.closed) {
      this.refresher = setInterval(() => this.refreshPending(), REFRESH_TICK_MS);
      this.refresher.unref();
    }
    return this.trackers.map((t) => ({
      tracker: t.name,
      running: t.running,
      summary: this.summary(t, true),
    }));
  }

  /** A probed binary replaced or rewritten is said at once, and in the summary. */
  private checkBinaries(): void {
    for (const note of this.binaries.check()) this.listener.warning(note);
  }

  /** Recounts the oldest pending counts, a share of the trackers per tick (see PENDING_REFRESH_MS). */
  private refreshPending(): void {
    const perTick = Math.ceil((this.trackers.length * REFRESH_TICK_MS) / PENDING_REFRESH_MS);
    const due = this.trackers.filter((t) => t.pendingAgeMs() >= PENDING_REFRESH_MS);
    due.sort((a, b) => b.pendingAgeMs() - a.pendingAgeMs());
    for (const t of due.slice(0, perTick)) t.pendingCount(0);
  }

  async close(): Promise<SummaryRecord[]> {
    if (this.closed) return this.finished;
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    if (this.drainer !== null) clearInterval(this.drainer);
    if (this.refresher !== null) clearInterval(this.refresher);
    if (this.binaryChecker !== null) clearInterval(this.binaryChecker);
    // while one tracker's programs are detached, the others' hits are read as they come
    for (const t of this.trackers) t.stop(() => this.reader.drain());
    this.checkBinaries();
    await this.reader.close(); // delivers what is still in the ring
    this.sweep(true);
    const summaries = [...this.finished, ...this.trackers.map((t) => this.summary(t))];
    for (const t of this.trackers) this.warnLostHits(t);
    await this.actions.close();
    for (const t of this.trackers) t.close();
    closeFd(this.ringbuf.fd);
    this.unregister();
    return summaries;
  }

  /** Hits lost to a full ring are in `dropped`; the warning says which ones, and the fix. */
  private warnLostHits(t: LiveTracker): void {
    const lost = t.counters().lostHits;
    if (lost === 0) return;
    const kib = Math.round(this.ringbuf.size / 1024);
    this.listener.warning(
      `${t.name}: ${lost} hit${lost === 1 ? "" : "s"} lost (in dropped): the ring buffer (${kib} KiB) was full; raise \`set ringbuf.size\``,
    );
  }

  private find(name: string): LiveTracker | undefined {
    return this.trackers.find((t) => t.name === name);
  }

  /** min/max and the sum exact (kept by the programs); p50/p99 from the log2 buckets. */
  private summary(t: LiveTracker, polled = false): SummaryRecord {
    const c = t.counters();
    const stats = new LatencyStats(t.name);
    stats.pairs = c.pairs;
    stats.hits = c.hits;
    stats.timeouts = c.timeouts + t.sweptTimeouts;
    stats.dropped = c.dropped + c.lostHits;
    stats.minNs = c.min === null ? null : Number(c.min);
    stats.maxNs = c.max === null ? null : Number(c.max);
    stats.sumNs = Number(c.sumNs);
    stats.missed = t.missedEvents();
    c.hist.forEach((count, k) => {
      if (count > 0) stats.addBucket(k, count);
    });
    stats.pending = t.pendingCount(polled ? 2 * PENDING_REFRESH_MS : 0);
    const notes = this.binaries.notes(t.name);
    const summary = {
      ...stats.summary(),
      cancelled: c.cancelled,
      ...(notes.length > 0 ? { notes } : {}),
    };
    if (!t.object.layout.plan.chain) return summary;
    const names = segmentNames(t.object.layout);
    const segments = t.segmentCounters().map((s, i) => segmentSummary(names[i], s, t.name));
    return { ...summary, broken: c.broken, segments };
  }

  private onRecord(bytes: Uint8Array): void {
    const index = new DataView(bytes.buffer, bytes.byteOffset).getUint32(Hit.tracker, true);
    const tracker = this.trackers.find((t) => t.object.layout.index === index);
    if (!tracker) return; // removed while its last records were in flight
    const layout = tracker.object.layout;
    const { hit, stackId } = layout.plan.chain
      ? { hit: decodeChainHit(bytes, layout), stackId: -1 }
      : decodeHit(bytes, layout);
    this.deliver(tracker, hit, stackId);
  }

  /** At close, `final` also expires what is past its deadline now (then reports pending). */
  private sweep(final = false): void {
    const now = monotonicNs();
    const nowMs = performance.now();
    for (const t of this.trackers) {
      if (!final && (!t.running || nowMs < t.nextSweepMs)) continue;
      t.nextSweepMs = nowMs + sweepPeriodMs(t.object.layout.plan.timeoutNs ?? 0);
      for (const { hit, stackId } of t.sweep(now)) this.deliver(t, hit, stackId);
    }
  }

  private deliver(tracker: LiveTracker, hit: HitRecord, stackId: number): void {
    if (this.symbols !== null && stackId >= 0) {
      const symbols = this.symbols;
      hit.stack = tracker.stackAddresses(stackId).map((a) => symbols.resolve(a));
    }
    this.actions.deliver(tracker.object.layout.plan, hit);
  }

  /** On exit or a fatal signal: detach and close without waiting for anything. */
  private closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    if (this.drainer !== null) clearInterval(this.drainer);
    if (this.refresher !== null) clearInterval(this.refresher);
    if (this.binaryChecker !== null) clearInterval(this.binaryChecker);
    // Wakes the reader's epoll_wait on the thread pool (synchronously): process.exit joins
    // those threads, and would wait forever for one blocked on an idle ring buffer.
    void this.reader.close();
    for (const t of this.trackers) t.close();
    closeFd(this.ringbuf.fd);
  }
}

export async function openLiveSession(options: SessionOptions): Promise<LiveSession> {
  return LiveSession.open(options);
}
