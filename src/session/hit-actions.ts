// What a hit sets off besides its record, for the backends whose hits come from the kernel
// (live eBPF, kmod): the flight-recorder snapshot (the hit is reported once its file is
// written, carrying the path) and the `exec` commands. Their modules load on first use.

import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord } from "../records/types.ts";
import type { ExecRunner } from "./exec.ts";
import type { FlightRecorder } from "./snapshot.ts";
import type { SessionListener } from "./types.ts";

const takes = (plan: TrackerPlan, kind: string) => plan.actions.some((a) => a.kind === kind);

export class HitActions {
  private recorder: FlightRecorder | null = null;
  private exec: ExecRunner | null = null;
  /** Snapshots being written: close() waits for them, so no hit is left unreported. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per tracker, the report of its latest hit with a snapshot: the next one goes after it. */
  private readonly lastOf = new Map<string, Promise<void>>();

  constructor(
    private readonly options: Record<string, OptionValue>,
    private readonly listener: SessionListener,
  ) {}

  /** Starts what the tracker's actions need (the recorder with the first snapshot tracker). */
  async prepare(plan: TrackerPlan): Promise<void> {
    const warn = (m: string) => this.listener.warning(m);
    if (takes(plan, "snapshot")) {
      const { FlightRecorder } = await import("./snapshot.ts");
      this.recorder ??= FlightRecorder.start({ options: this.options, warn });
      this.recorder.track(plan);
    }
    if (takes(plan, "exec")) {
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
    if (this.recorder === null || !takes(plan, "snapshot")) {
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

  /** Waits for the snapshots being written, then the commands; removes the recorder. */
  async close(): Promise<void> {
    await Promise.all(this.inFlight);
    await this.exec?.close();
    await this.recorder?.close();
  }
}
