// Replay's SnapshotSource: a hit's snapshot is the window of the replayed trace around it
// (SnapshotWindows, src/replay/snapshot-windows.ts). The replay session shows it every line as the
// pass reads it; times are kept relative to the pass's first line, so they stay exact.

import type { OptionValue } from "../compiler/plan.ts";
import type { HitRecord } from "../records/types.ts";
import type { TraceEvent } from "../replay/event.ts";
import { SnapshotWindows } from "../replay/snapshot-windows.ts";
import type { SnapshotSource } from "./hit-actions.ts";

const DEFAULT_MARGIN_NS = 10_000_000;

export class TraceWindows implements SnapshotSource {
  private readonly windows: SnapshotWindows;
  private baseSec: number | null = null;

  constructor(options: Record<string, OptionValue>) {
    const margin = options["snapshot.margin"];
    this.windows = new SnapshotWindows(
      String(options["snapshot.dir"] ?? "snapshots"),
      typeof margin === "number" ? margin : DEFAULT_MARGIN_NS,
      [],
    );
  }

  /** The trace's own header lines, written at the top of every snapshot. */
  setHeader(lines: string[]): void {
    this.windows.header = lines;
  }

  /** Every line of the trace passes here, in order, before the interpreter sees it. */
  line(event: TraceEvent): void {
    this.baseSec ??= event.sec;
    this.windows.line((event.sec - this.baseSec) * 1e9 + event.nsec, event.line);
  }

  track(): void {}

  capture(hit: HitRecord): Promise<string | null> {
    // Every hit is written: replay has no rate limit to keep a live system calm.
    const base = BigInt(this.baseSec ?? 0) * 1_000_000_000n;
    const beginNs = Number(hit.begin.ts_ns - base);
    return new Promise((resolve) =>
      this.windows.take(hit, beginNs, beginNs + hit.latency_ns, (done) => resolve(done.snapshot)),
    );
  }

  /** End of the trace: the windows still open are written with what there is. */
  flush(): void {
    this.windows.flush();
  }

  async close(): Promise<void> {
    this.windows.flush();
  }
}
