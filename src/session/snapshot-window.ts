// Cutting a time window out of a tracefs `trace` dump: the snapshot file is the dump's own
// header (so Perfetto, trace-cmd-compatible tools and `ltsh run --replay` read it) followed by
// the event lines whose timestamps fall in [from, to].

import { eventTimestampNs } from "../records/snapshot-note.ts";

/** What a cut kept, so the recorder can tell a window the buffer no longer covered. */
export interface WindowCut {
  /** Header lines (with the entry count rewritten) and the kept event lines, newline-ended. */
  text: string;
  /** The same as `text`, split: the header comments and the kept lines. */
  header: string[];
  lines: string[];
  events: number;
  /** The ring buffer overwrote events (the dump's entries-written exceeds entries-in-buffer). */
  overwritten: boolean;
  /** Timestamp of the oldest event in the whole dump; null when the dump had no events. */
  oldestNs: bigint | null;
  /** Timestamp of the newest event read (reading stops at the first one past the window). */
  newestNs: bigint | null;
}

/**
 * The trace prints microseconds (ns2usecs truncates), so an event at t ns shows as
 * floor(t / 1000) µs: the window's lower edge is truncated the same way so the event that
 * began the hit is always kept.
 */
export function truncateToResolution(ns: bigint, resolutionNs: bigint): bigint {
  return ns - (ns % resolutionNs);
}

/** Incremental cutter: feed the dump line by line (it can be tens of MB), then finish(). */
export class WindowCutter {
  private readonly header: string[] = [];
  private readonly kept: string[] = [];
  private inHeader = true;
  private keepingEvent = false;
  private events = 0;
  private oldestNs: bigint | null = null;
  private overwritten = false;
  private newestNs: bigint | null = null;
  private readonly fromShown: bigint;

  constructor(
    fromNs: bigint,
    private readonly toNs: bigint,
    resolutionNs = 1000n,
  ) {
    this.fromShown = truncateToResolution(fromNs < 0n ? 0n : fromNs, resolutionNs);
  }

  /** True once a line past the window was seen: the dump is in time order, the rest can go. */
  get done(): boolean {
    return this.newestNs !== null && this.newestNs > this.toNs;
  }

  push(line: string): void {
    if (this.inHeader && line.startsWith("#") && !line.startsWith("#####")) {
      this.header.push(line);
      const counts = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(line);
      if (counts !== null) this.overwritten = Number(counts[2]) > Number(counts[1]);
      return;
    }
    this.inHeader = false;
    const ts = eventTimestampNs(line);
    if (ts === null) {
      // Continuation lines (" => func" stack entries) belong to the event before them;
      // "##### CPU n buffer started ####" markers and blanks are dropped.
      if (this.keepingEvent && !line.startsWith("#") && line.trim() !== "") this.kept.push(line);
      return;
    }
    if (this.oldestNs === null) this.oldestNs = ts;
    this.newestNs = ts;
    this.keepingEvent = ts >= this.fromShown && ts <= this.toNs;
    if (this.keepingEvent) {
      this.kept.push(line);
      this.events++;
    }
  }

  /** `addedEvents`: lines the caller adds to the cut (the hit's markers), in the header's count. */
  finish(addedEvents = 0): WindowCut {
    const entries = this.events + addedEvents;
    const header = this.header.map((line) =>
      line.replace(
        /entries-in-buffer\/entries-written: \d+\/\d+/,
        `entries-in-buffer/entries-written: ${entries}/${entries}`,
      ),
    );
    const lines = [...header, ...this.kept];
    return {
      text: lines.length === 0 ? "" : `${lines.join("\n")}\n`,
      header,
      lines: this.kept,
      events: this.events,
      overwritten: this.overwritten,
      oldestNs: this.oldestNs,
      newestNs: this.newestNs,
    };
  }
}

/** The whole cut at once, for dumps already in memory (tests, small buffers). */
export function cutWindow(dump: string, fromNs: bigint, toNs: bigint): WindowCut {
  const cutter = new WindowCutter(fromNs, toNs);
  for (const line of dump.split("\n")) {
    if (cutter.done) break;
    if (line !== "") cutter.push(line);
  }
  return cutter.finish();
}
