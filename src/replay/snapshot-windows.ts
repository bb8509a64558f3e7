// Replay's snapshots: the replayed trace's own lines in [begin − margin, end + margin],
// written once trace time passes the window's end, with the hit noted and marked as the live
// recorder does (../records/snapshot-note.ts). The replay session hands them to the hit
// actions every backend shares (src/session/hit-actions.ts).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { annotatedSnapshot, isHitMarkerLine } from "../records/snapshot-note.ts";
import type { HitRecord } from "../records/types.ts";
import { detectFormat } from "./formats.ts";

/** Most lines kept for snapshots: bounds memory when a pair spans a very busy stretch. */
export const SNAPSHOT_MAX_LINES = 200_000;

interface OpenWindow {
  hit: HitRecord;
  fromNs: number;
  toNs: number;
  lines: string[];
  truncated: boolean;
  done: (hit: HitRecord) => void;
}

export class SnapshotWindows {
  private readonly recentTs: number[] = [];
  private readonly recentLines: string[] = [];
  private head = 0;
  private open: OpenWindow[] = [];
  written = 0;

  constructor(
    private readonly dir: string,
    private readonly marginNs: number,
    /** The trace's own header lines, written at the top of every snapshot. */
    public header: string[],
  ) {}

  /**
   * Every line of the trace passes here, in order, with its time. The hit markers of a
   * snapshot being replayed are left out: each new snapshot marks its own hit.
   */
  line(tsNs: number, text: string): void {
    if (isHitMarkerLine(text)) return;
    this.recentTs.push(tsNs);
    this.recentLines.push(text);
    if (this.recentTs.length - this.head > SNAPSHOT_MAX_LINES) this.head++;
    // Compact now and then so the arrays do not grow without bound.
    if (this.head > SNAPSHOT_MAX_LINES) {
      this.recentTs.splice(0, this.head);
      this.recentLines.splice(0, this.head);
      this.head = 0;
    }
    if (this.open.length === 0) return;
    for (const window of this.open) if (tsNs <= window.toNs) window.lines.push(text);
    const closed = this.open.filter((w) => tsNs > w.toNs);
    if (closed.length > 0) {
      this.open = this.open.filter((w) => tsNs <= w.toNs);
      for (const window of closed) this.finish(window);
    }
  }

  /** Opens the window of a hit; `done` gets the hit with its snapshot path once written. */
  take(hit: HitRecord, beginNs: number, endNs: number, done: (hit: HitRecord) => void): void {
    const fromNs = beginNs - this.marginNs;
    const lines: string[] = [];
    let first = this.recentTs.length;
    while (first > this.head && this.recentTs[first - 1] >= fromNs) first--;
    for (let i = first; i < this.recentTs.length; i++) lines.push(this.recentLines[i]);
    const truncated = first === this.head && this.head > 0 && this.recentTs[first] > fromNs;
    this.open.push({ hit, fromNs, toNs: endNs + this.marginNs, lines, truncated, done });
  }

  /** End of the trace: every open window is written with what there is. */
  flush(): void {
    const open = this.open;
    this.open = [];
    for (const window of open) this.finish(window);
  }

  private finish(window: OpenWindow): void {
    const { hit } = window;
    const ts = hit.end ? hit.end.ts_ns : hit.begin.ts_ns;
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `${hit.tracker}-${ts}.txt`);
    const header = window.truncated
      ? [...this.header, `# truncated: only the last ${SNAPSHOT_MAX_LINES} lines were kept`]
      : this.header;
    // Markers are tracefs lines: only a window of tracefs text gets them.
    const ftrace = detectFormat(window.lines.filter((l) => !l.startsWith("#")).slice(0, 50));
    const text = annotatedSnapshot(header, window.lines, hit, ftrace === "ftrace");
    writeFileSync(path, `${text.join("\n")}\n`);
    this.written++;
    window.done({ ...hit, snapshot: path });
  }
}
