// The flight recorder behind `then snapshot`: a tracefs instance of its own in overwrite mode
// (trace_clock mono, so its timestamps are the BPF ones), frozen on a hit while the window
// [begin − margin, end + margin] is written to snapshot.dir (with the hit noted in its header
// and marked for Perfetto: ../records/snapshot-note.ts), then resumed.

import { mkdir, open, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import { TracefsInstance } from "../kernel/tracefs.ts";
import { formatDuration } from "../records/output.ts";
import { annotatedSnapshot, hitEndNs } from "../records/snapshot-note.ts";
import type { HitRecord } from "../records/types.ts";
import { recordLttngSnapshot } from "./snapshot-lttng.ts";
import { type SnapshotSettings, snapshotSettings } from "./snapshot-options.ts";
import { type WindowCut, WindowCutter } from "./snapshot-window.ts";

export type { SnapshotSettings } from "./snapshot-options.ts";

export interface FlightRecorderOptions {
  /** The program's options (snapshot.*); missing ones take the defaults. */
  options: Record<string, OptionValue>;
  /** Non-fatal conditions (unknown context event, window older than the buffer, lttng failing). */
  warn: (message: string) => void;
  /** Instead of the mounted tracefs (tests). */
  tracefsRoot?: string;
  /** The lttng client to run (tests put a fake one here). */
  lttngBinary?: string;
}

/** True when a tracker asks for a snapshot on its hits. */
export function wantsSnapshot(plan: TrackerPlan): boolean {
  return plan.actions.some((action) => action.kind === "snapshot");
}

/**
 * Tracepoint ids ("sched:sched_wakeup") of every begin and end alternative of a tracker.
 * User-space probes are left out: they have no tracefs event unless uprobe_events defines one.
 */
function trackerEvents(plan: TrackerPlan): string[] {
  return [...plan.begins, ...plan.ends]
    .filter((side) => side.probe.user === undefined)
    .map((side) => `${side.probe.category}:${side.probe.name}`);
}

/**
 * ftrace and the BPF program read the clock a moment apart on the same tracepoint (the
 * ftrace event's timestamp may be a few hundred ns before bpf_ktime_get_ns, or after it),
 * so the window is widened by this much beyond the margin on each side.
 */
export const CLOCK_SLACK_NS = 10_000n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FlightRecorder {
  readonly settings: SnapshotSettings;
  private readonly enabled = new Set<string>();
  private readonly lastSnapshotNs = new Map<string, bigint>();
  private readonly skippedByTracker = new Map<string, number>();
  /** Captures run one at a time: each one stops and restarts the whole instance. */
  private queue: Promise<unknown> = Promise.resolve();
  private lttngWarned = false;
  /** CLOCK_MONOTONIC span of the last capture's freeze. */
  private lastFreeze: { fromNs: bigint; toNs: bigint } | null = null;
  private closed = false;

  private constructor(
    private readonly instance: TracefsInstance,
    private readonly config: FlightRecorderOptions,
  ) {
    this.settings = snapshotSettings(config.options);
  }

  /**
   * Creates and starts the instance with the context events (removing instances that dead
   * ltsh processes left behind first); trackers are added with track().
   */
  static start(config: FlightRecorderOptions): FlightRecorder {
    const settings = snapshotSettings(config.options);
    // snapshot.buffer is the total: tracefs sizes each CPU's buffer.
    const perCpuKiB = Math.max(4, Math.ceil(settings.bufferBytes / 1024 / cpus().length));
    // TracefsInstance turns record-tgid on: the TGID column gives replay the process id.
    const instance = TracefsInstance.create({
      purpose: "snapshot",
      clock: "mono",
      bufferKiB: perCpuKiB,
      overwrite: true,
      tracefs: config.tracefsRoot,
    });
    const recorder = new FlightRecorder(instance, config);
    try {
      const { events, unknown } = instance.resolveEvents(settings.events);
      if (unknown.length > 0) {
        config.warn(`snapshot.events: no such event ${unknown.join(", ")}; recording without it`);
      }
      for (const id of events) recorder.enable(id);
      instance.resume();
    } catch (error) {
      recorder.closeNow();
      throw error;
    }
    return recorder;
  }

  /** "ltsh-<pid>-snapshot" */
  get instanceName(): string {
    return this.instance.name;
  }

  get instanceDir(): string {
    return this.instance.dir;
  }

  private enable(id: string): void {
    if (this.enabled.has(id)) return;
    this.instance.enableEvents([id]);
    this.enabled.add(id);
  }

  /** Records the tracker's own begin and end events too, so a snapshot replays to its hit. */
  track(plan: TrackerPlan): void {
    for (const id of trackerEvents(plan)) this.enable(id);
  }

  /** Snapshots of this tracker skipped by the rate limit so far. */
  skipped(tracker: string): number {
    return this.skippedByTracker.get(tracker) ?? 0;
  }

  /** One line per tracker that had snapshots skipped, for the session's warnings at close. */
  skippedWarnings(): string[] {
    const rate = this.settings.ratePerSecond;
    return [...this.skippedByTracker].map(
      ([tracker, count]) =>
        `${tracker}: ${count} snapshot${count === 1 ? "" : "s"} skipped by the rate limit ` +
        `(snapshot.rate = ${rate} per second)`,
    );
  }

  /**
   * Freezes the recorder around a hit and writes its window; returns the file's path, or null
   * when the rate limit skipped it (counted) or the recorder is closed.
   */
  capture(hit: HitRecord): Promise<string | null> {
    if (this.closed || !this.admit(hit)) return Promise.resolve(null);
    const job = this.queue.then(() => this.captureNow(hit));
    this.queue = job.catch(() => {});
    return job;
  }

  /** The rate limit, decided in hit time so that a burst is judged by when its hits happened. */
  private admit(hit: HitRecord): boolean {
    const rate = this.settings.ratePerSecond;
    if (rate <= 0) return true;
    const intervalNs = BigInt(Math.round(1e9 / rate));
    const at = hitEndNs(hit);
    const last = this.lastSnapshotNs.get(hit.tracker);
    if (last !== undefined && at < last + intervalNs) {
      this.skippedByTracker.set(hit.tracker, this.skipped(hit.tracker) + 1);
      return false;
    }
    this.lastSnapshotNs.set(hit.tracker, at);
    return true;
  }

  private async captureNow(hit: HitRecord): Promise<string | null> {
    if (this.closed) return null;
    // CLOCK_SLACK_NS: even with margin 0 the pair's own events stay in the window.
    const margin = BigInt(this.settings.marginNs) + CLOCK_SLACK_NS;
    const fromNs = hit.begin.ts_ns - margin;
    const toNs = hitEndNs(hit) + margin;
    // The events after the end are still to come: wait until the clock has passed the window.
    const waitNs = toNs - process.hrtime.bigint();
    if (waitNs > 0n) await sleep(Math.ceil(Number(waitNs) / 1e6));
    const name = `${safeName(hit.tracker)}-${hit.begin.ts_ns}`;
    const lttng = this.settings.lttngSession;
    const lttngDone =
      lttng === "" ? null : recordLttngSnapshot(lttng, name, this.config.lttngBinary);
    this.warnIfFrozenDuring(hit.tracker, fromNs, toNs);
    this.instance.freeze();
    const frozenAt = process.hrtime.bigint();
    let cut: WindowCut;
    try {
      cut = await this.readWindow(fromNs, toNs);
      // Only a buffer that wrapped lost part of the window; a young recorder simply began later.
      if (cut.overwritten && cut.oldestNs !== null && cut.oldestNs > fromNs) {
        const held = formatDuration(Number(toNs - cut.oldestNs));
        this.config.warn(
          `${hit.tracker}: the snapshot misses the start of its window (the buffer held ${held}); ` +
            "raise snapshot.buffer",
        );
      }
    } finally {
      if (!this.closed) this.instance.resume();
      this.lastFreeze = { fromNs: frozenAt, toNs: process.hrtime.bigint() };
    }
    // Once recording has resumed: the hit named in the header (for `ltsh show`) and marked
    // as a slice (for Perfetto).
    const text = `${annotatedSnapshot(cut.header, cut.lines, hit).join("\n")}\n`;
    await mkdir(this.settings.dir, { recursive: true });
    const path = await writeNew(this.settings.dir, name, text);
    if (lttngDone !== null) {
      const result = await lttngDone;
      if (!result.ok && !this.lttngWarned) {
        this.lttngWarned = true;
        this.config.warn(result.message);
      }
    }
    return path;
  }

  /** The recorder records nothing while frozen: a window over that time has a hole in it. */
  private warnIfFrozenDuring(tracker: string, fromNs: bigint, toNs: bigint): void {
    const frozen = this.lastFreeze;
    if (frozen === null || fromNs >= frozen.toNs || toNs <= frozen.fromNs) return;
    this.config.warn(
      `${tracker}: the snapshot has a gap of ${formatDuration(Number(frozen.toNs - frozen.fromNs))} ` +
        "while the recorder was frozen for the previous snapshot; a smaller snapshot.buffer " +
        "freezes for less time",
    );
  }

  /** Reads the frozen `trace` dump, stopping once past the window (the dump is in time order). */
  private async readWindow(fromNs: bigint, toNs: bigint) {
    const cutter = new WindowCutter(fromNs, toNs);
    // Closed before returning: an open `trace` file keeps the instance busy (rmdir: EBUSY).
    const file = await open(this.instance.tracePath, "r");
    try {
      const buffer = Buffer.alloc(1 << 20);
      const decoder = new StringDecoder("utf8");
      let rest = "";
      while (!cutter.done) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        const lines = (rest + decoder.write(buffer.subarray(0, bytesRead))).split("\n");
        rest = lines.pop() as string;
        for (const line of lines) cutter.push(line);
      }
      if (rest !== "" && !cutter.done) cutter.push(rest);
    } finally {
      await file.close();
    }
    // The hit's B and E markers are added to the window: the header counts them.
    return cutter.finish(2);
  }

  /**
   * Waits for captures in flight, removes the instance, and warns once per tracker whose
   * snapshots the rate limit skipped (the session shows these with its other warnings).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closeNow();
    for (const message of this.skippedWarnings()) this.config.warn(message);
  }

  private closeNow(): void {
    this.closed = true;
    this.instance.remove();
  }
}

/** Writes `<name>.txt`, or `<name>-2.txt`, ... when a file of that name exists: none is replaced. */
async function writeNew(dir: string, name: string, text: string): Promise<string> {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${name}.txt` : `${name}-${n}.txt`);
    try {
      await writeFile(path, text, { flag: "wx" });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || n >= 1000) throw error;
    }
  }
}

function safeName(tracker: string): string {
  return tracker.replace(/[^A-Za-z0-9_.-]/g, "_");
}
