// The `snapshot` action as a session uses it: the flight recorder starts with the first
// tracker that asks for snapshots, fills `hit.snapshot` for that tracker's hits, and at close
// says how many snapshots the rate limit skipped. Three calls: add(plan), fill(hit), close().

import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import { FlightRecorder, type FlightRecorderOptions, wantsSnapshot } from "./snapshot.ts";
import type { HitRecord } from "./types.ts";

export class SnapshotAction {
  private recorder: FlightRecorder | null = null;
  private readonly trackers = new Set<string>();

  constructor(
    private readonly options: Record<string, OptionValue>,
    private readonly warn: (message: string) => void,
    /** Test hooks passed through to the recorder (tracefs root, lttng binary). */
    private readonly extra: Partial<FlightRecorderOptions> = {},
  ) {}

  /** Call for every tracker the session adds (cheap for trackers without `then snapshot`). */
  add(plan: TrackerPlan): void {
    if (!wantsSnapshot(plan)) return;
    this.recorder ??= FlightRecorder.start({
      ...this.extra,
      options: this.options,
      warn: this.warn,
    });
    this.recorder.track(plan);
    this.trackers.add(plan.name);
  }

  /**
   * Call before the hit is emitted: for a tracker with `then snapshot` it freezes the recorder,
   * writes the window and sets hit.snapshot (null when the rate limit skipped it).
   * Never throws: a failed capture becomes a warning and snapshot stays null.
   */
  async fill(hit: HitRecord): Promise<HitRecord> {
    if (this.recorder === null || !this.trackers.has(hit.tracker)) return hit;
    try {
      hit.snapshot = await this.recorder.capture(hit);
    } catch (error) {
      this.warn(`${hit.tracker}: snapshot failed: ${(error as Error).message}`);
    }
    return hit;
  }

  /** Snapshots of a tracker the rate limit skipped so far (for live stats). */
  skipped(tracker: string): number {
    return this.recorder?.skipped(tracker) ?? 0;
  }

  /** Removes the recorder's instance and warns once per tracker with skipped snapshots. */
  async close(): Promise<void> {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder === null) return;
    await recorder.close();
    for (const message of recorder.skippedWarnings()) this.warn(message);
  }
}
