// What a hit sets off besides its record, for every backend: the snapshot (the hit is
// reported once its file is written, carrying the path) and the `exec` commands. Live and
// kmod snapshots come from the flight recorder, replay's from the trace itself (a
// SnapshotSource each). Their modules load on first use.

import { hasAction } from "../compiler/actions.ts";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord } from "../records/types.ts";
import type { ExecRunner } from "./exec.ts";
import type { SessionListener } from "./types.ts";

/** Where snapshots come from: the flight recorder (live, kmod) or the replayed trace. */
export interface SnapshotSource {
  track(plan: TrackerPlan): void;
  /** The path of the hit's snapshot; null when none was taken (rate limit, ...). */
  capture(hit: HitRecord): Promise<string | null>;
  /** Waits for captures in flight and releases what the source holds. */
  close(): Promise<void>;
}

export type SnapshotSourceFactory = (
  options: Record<string, OptionValue>,
  warn: (message: string) => void,
) => Promise<SnapshotSource>;

/** The flight recorder of live and kmod sessions: a tracefs instance of ltsh's own. */
const flightRecorder: SnapshotSourceFactory = async (options, warn) => {
  const { FlightRecorder } = await import("./snapshot.ts");
  return FlightRecorder.start({ options, warn });
};

export class HitActions {
  private recorder: SnapshotSource | null = null;
  private starting: Promise<SnapshotSource> | null = null;
  private exec: ExecRunner | null = null;
  /** Snapshots being written: close() waits for them, so no hit is left unreported. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per tracker, the report of its latest hit with a snapshot: the next one goes after it. */
  private readonly lastOf = new Map<string, Promise<void>>();

  constructor(
    private readonly options: Record<string, OptionValue>,
    private readonly listener: SessionListener,
    private readonly snapshots: SnapshotSourceFactory = flightRecorder,
  ) {}

  /** Starts what the tracker's actions need (the recorder with the first snapshot tracker). */
  async prepare(plan: TrackerPlan): Promise<void> {
    const warn = (m: string) => this.listener.warning(m);
    if (hasAction(plan, "snapshot")) {
      this.starting ??= this.snapshots(this.options, warn);
      this.recorder = await this.starting;
      this.recorder.track(plan);
    }
    if (hasAction(plan, "exec")) {
      const { ExecRunner } = await import("./exec.ts");
      this.exec ??= ExecRunner.fromOptions(this.options, warn);
    }
  }

  /** Reports the hit (after its snapshot, when the tracker takes one) and runs its commands. */
  deliver(plan: TrackerPlan, hit: HitRecord): void {
    const emit = (done: HitRecord) => {
      this.listener.hit(done);
      for (const a of plan.actions) if (a.kind === "exec") this.exec?.run(a.argv, done);
    };
    if (this.recorder === null || !hasAction(plan, "snapshot")) {
      emit(hit);
      return;
    }
    // Captured at once (the rate limit goes by arrival), reported in arrival order: a hit the
    // limit skips waits for the earlier one's file rather than overtaking it.
    const captured = this.recorder.capture(hit).then(
      (path) => ({ ...hit, snapshot: path }),
      (error: Error) => {
        this.listener.warning(`snapshot failed: ${error.message}`);
        return hit;
      },
    );
    const previous = this.lastOf.get(plan.name) ?? Promise.resolve();
    const reported = previous.then(() => captured).then(emit);
    this.lastOf.set(plan.name, reported);
    this.inFlight.add(reported);
    void reported.finally(() => {
      this.inFlight.delete(reported);
      if (this.lastOf.get(plan.name) === reported) this.lastOf.delete(plan.name);
    });
  }

  /** Resolves once every hit delivered so far is reported (its snapshot written). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Waits for the snapshots being written, then the commands; removes the recorder. */
  async close(): Promise<void> {
    await this.settled();
    await this.exec?.close();
    await this.recorder?.close();
  }
}
