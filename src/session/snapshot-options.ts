// The `snapshot.*` options as the flight recorder uses them: the program's checked options
// (src/compiler/options.ts holds the table and its defaults), read into typed settings.

import { defaultOptions } from "../compiler/options.ts";
import type { OptionValue } from "../compiler/plan.ts";

export interface SnapshotSettings {
  /** Context events recorded besides the trackers' own ("sched:sched_switch" or a bare name). */
  events: string[];
  /** Total ring-buffer size in bytes, shared out per CPU. */
  bufferBytes: number;
  /** Kept before the begin and after the end of a hit, in ns. */
  marginNs: number;
  /** Snapshots per second per tracker; more are skipped and counted. 0 or less: no limit. */
  ratePerSecond: number;
  dir: string;
  /** LTTng snapshot-mode session to record as well; "" for none. */
  lttngSession: string;
}

function numberOption(value: OptionValue | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function stringOption(value: OptionValue | undefined, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

/** Settings from a file's options; options it does not set take the table's defaults. */
export function snapshotSettings(options: Record<string, OptionValue>): SnapshotSettings {
  const all = { ...defaultOptions(), ...options };
  const events = all["snapshot.events"];
  return {
    events: Array.isArray(events) ? events : [],
    bufferBytes: numberOption(all["snapshot.buffer"], 8 * 1024 * 1024),
    marginNs: numberOption(all["snapshot.margin"], 10_000_000),
    ratePerSecond: numberOption(all["snapshot.rate"], 1),
    dir: stringOption(all["snapshot.dir"], "snapshots") || "snapshots",
    lttngSession: stringOption(all["snapshot.lttng"], ""),
  };
}
