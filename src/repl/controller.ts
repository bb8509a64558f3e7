// The shell's engine, apart from React: runs prompt lines (track/set statements and
// :commands) against a Session, batches hits into feed lines every FLUSH_MS, polls the
// trackers' counters a few times a second, keeps each tracker's last hits (for :show), and
// reports everything as reducer actions.

import { readFileSync, writeFileSync } from "node:fs";
import type { OptionValue } from "../compiler/plan.ts";
import { MetricsEndpoint } from "../metrics/endpoint.ts";
import { formatHitLine } from "../records/output.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import type { Session, SessionListener, TrackerStats } from "../session/types.ts";
import { runCommand } from "./commands.ts";
import { probesLabel } from "./format.ts";
import type { Action, StatusInfo, TrackerRow } from "./state.ts";
import type { CheckResult, FrontEnd } from "./statements.ts";
import { ShellStatements } from "./statements.ts";
import type { Timeline } from "./timeline-model.ts";

export const FLUSH_MS = 100;
export const STATS_MS = 250;
/** Hits echoed per flush; beyond that a person cannot read them, they are counted instead. */
export const FEED_LINES_PER_FLUSH = 50;

export type Dispatch = (action: Action) => void;

/** Hits kept per tracker for :show (every hit, echoed or not); older ones are let go. */
export const RECENT_HITS = 20;

/** Kernel stack frames shown under a hit with `then stack`; the rest are summarised. */
export const STACK_FRAMES_SHOWN = 6;

/** A hit's line, and under it the top of its kernel stack when it has one. */
export function hitLines(hit: HitRecord): string[] {
  const stack = hit.stack ?? [];
  const frames = stack.slice(0, STACK_FRAMES_SHOWN).map((frame) => `    ${frame}`);
  if (stack.length > STACK_FRAMES_SHOWN)
    frames.push(`    … ${stack.length - STACK_FRAMES_SHOWN} more frames`);
  return [formatHitLine(hit), ...frames];
}

/** Opens a session: at start, and again when a `set` line changes options before any tracker. */
export type SessionOpener = (
  listener: SessionListener,
  options: Record<string, OptionValue>,
) => Promise<Session>;

export interface ControllerOptions {
  backend: string;
  openSession: SessionOpener;
  frontEnd: FrontEnd;
  /** Options of the session when it is opened (from a file's `set` lines, defaults filled in). */
  options?: Record<string, OptionValue>;
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
  /** ltsh's version, as :metrics labels ltsh_build_info ("unknown" when not given). */
  version?: string;
  /** How :load reads and :save writes files; the real file system by default. */
  io?: Partial<ShellIO>;
}

export interface ShellIO {
  readFile(path: string): string;
  writeFile(path: string, text: string): void;
}

export type Outcome =
  | {
      ok: true;
      output: string[];
      select?: string;
      clearScreen?: boolean;
      quit?: boolean;
      /** A snapshot to open in the timeline view (:show), one of `paths` (`[` `]` step). */
      show?: { timeline: Timeline; paths: string[]; index: number };
    }
  | { ok: false; error: string };

export class ShellController {
  readonly statements = new ShellStatements();
  readonly backend: string;
  readonly frontEnd: FrontEnd;
  options: Record<string, OptionValue>;
  io: ShellIO;
  private session: Session | null = null;
  private opening: Promise<Session> | null = null;
  private dispatch: Dispatch = () => {};
  private pendingHits: HitRecord[] = [];
  /** The last RECENT_HITS hits of each tracker, oldest first. */
  private readonly recent = new Map<string, HitRecord[]>();
  private skippedHits = 0;
  private feedSkipped = 0;
  private pendingWarnings: string[] = [];
  private pendingNotices: string[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private readonly startedAt: number;
  private last = { at: 0, pairs: 0, hits: 0 };
  private addGeneration = 0;
  private ended = false;
  /** Trackers the user stopped; other trackers that are not running have finished. */
  readonly stopped = new Set<string>();
  /** Names of trackers the user removed (:rm). */
  readonly removed = new Set<string>();
  private rates = { pairs: 0, hits: 0 };
  /** :metrics — scrapes read whichever session is open now (a `set` line may reopen it). */
  readonly metrics: MetricsEndpoint;

  constructor(private readonly config: ControllerOptions) {
    this.backend = config.backend;
    this.frontEnd = config.frontEnd;
    this.options = config.options ?? {};
    this.now = config.now ?? Date.now;
    this.startedAt = this.now();
    this.metrics = new MetricsEndpoint(
      () => (this.session?.stats() ?? []).map((s) => s.summary),
      config.version ?? "unknown",
    );
    this.last.at = this.startedAt;
    this.io = {
      readFile: (path) => readFileSync(path, "utf8"),
      writeFile: (path, text) => writeFileSync(path, text),
      ...config.io,
    };
  }

  /** Starts feeding `dispatch`; returns the function that stops it (the timers). */
  attach(dispatch: Dispatch, timers = true): () => void {
    this.dispatch = dispatch;
    if (timers) {
      this.timers.push(setInterval(() => this.flush(), FLUSH_MS));
      this.timers.push(setInterval(() => this.poll(), STATS_MS));
    }
    return () => this.detach();
  }

  detach(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.dispatch = () => {};
  }

  /** The listener every session of this shell reports to: hits are only queued here. */
  readonly listener: SessionListener = {
    hit: (hit) => {
      this.keepRecent(hit);
      if (this.pendingHits.length < FEED_LINES_PER_FLUSH) this.pendingHits.push(hit);
      else this.skippedHits++;
    },
    warning: (message) => {
      this.pendingWarnings.push(message);
    },
    notice: (message) => {
      this.pendingNotices.push(message);
    },
  };

  private keepRecent(hit: HitRecord): void {
    const kept = this.recent.get(hit.tracker) ?? [];
    kept.push(hit);
    if (kept.length > RECENT_HITS) kept.shift();
    this.recent.set(hit.tracker, kept);
  }

  /** The kept hit of this tracker with the longest latency; null when none is kept. */
  private worstRecent(tracker: string): HitRecord | null {
    const kept = this.recent.get(tracker) ?? [];
    return kept.reduce<HitRecord | null>(
      (worst, hit) => (worst === null || hit.latency_ns > worst.latency_ns ? hit : worst),
      null,
    );
  }

  /** The kept hits with a snapshot file, of one tracker or of all, oldest first. */
  snapshotHits(tracker?: string): HitRecord[] {
    const lists =
      tracker === undefined ? [...this.recent.values()] : [this.recent.get(tracker) ?? []];
    const at = (hit: HitRecord) => hit.end?.ts_ns ?? hit.begin.ts_ns;
    return lists
      .flat()
      .filter((hit) => hit.snapshot !== null)
      .sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
  }

  /** Opens the session now (live mode: permission problems show before anything is typed). */
  async open(): Promise<Session> {
    if (this.session) return this.session;
    this.opening ??= this.config.openSession(this.listener, this.options);
    try {
      this.session = await this.opening;
    } finally {
      this.opening = null;
    }
    return this.session;
  }

  get isOpen(): boolean {
    return this.session !== null;
  }

  /** Turns queued hits and warnings into feed lines: one action per flush, at most. */
  flush(): void {
    const hits = this.pendingHits.splice(0);
    const skipped = this.skippedHits;
    this.skippedHits = 0;
    if (hits.length > 0) {
      const timeouts = hits.every((h) => h.kind === "timeout");
      const lines = hits.flatMap(hitLines);
      if (skipped > 0) {
        this.feedSkipped += skipped;
        lines.push(
          `… and ${skipped} more hits in the last ${FLUSH_MS}ms (not echoed; counted in the table)`,
        );
      }
      this.dispatch({ type: "print", lines, tone: timeouts ? "timeout" : "hit" });
    }
    const warnings = this.pendingWarnings.splice(0);
    if (warnings.length > 0) {
      this.dispatch({
        type: "print",
        lines: warnings.map((w) => `warning: ${w}`),
        tone: "warning",
      });
    }
    const notices = this.pendingNotices.splice(0);
    if (notices.length > 0) this.dispatch({ type: "print", lines: notices, tone: "info" });
  }

  /** Reads the counters and dispatches the table rows and status line. */
  poll(): void {
    const stats = this.session ? this.session.stats() : [];
    const rows = this.rows(stats);
    this.dispatch({ type: "stats", trackers: rows, status: this.status(rows) });
  }

  rows(stats: TrackerStats[]): TrackerRow[] {
    const byName = new Map(stats.map((s) => [s.tracker, s]));
    return this.statements.trackers().flatMap(({ plan }) => {
      const live = byName.get(plan.name);
      if (!live) return [];
      const names = (sides: typeof plan.begins) => sides.map((s) => s.probe.name);
      return [
        {
          name: plan.name,
          probes: probesLabel(names(plan.begins), names(plan.ends)),
          thresholdNs: plan.thresholdNs,
          state: live.running ? "running" : this.stopped.has(plan.name) ? "stopped" : "done",
          summary: live.summary,
          worst: plan.chain ? this.worstRecent(plan.name) : null,
        },
      ];
    });
  }

  private status(rows: TrackerRow[]): StatusInfo {
    const at = this.now();
    const pairs = rows.reduce((sum, r) => sum + r.summary.pairs, 0);
    const hits = rows.reduce((sum, r) => sum + r.summary.hits + r.summary.timeouts, 0);
    const seconds = (at - this.last.at) / 1000;
    if (seconds > 0) {
      // Smoothed over about a second so the figure can be read while it changes.
      const smooth = (old: number, delta: number) => 0.5 * old + 0.5 * Math.max(0, delta / seconds);
      this.rates = {
        pairs: smooth(this.rates.pairs, pairs - this.last.pairs),
        hits: smooth(this.rates.hits, hits - this.last.hits),
      };
      this.last = { at, pairs, hits };
    }
    return {
      backend: `${this.backend}${this.ended ? " (ended)" : ""}`,
      elapsedMs: at - this.startedAt,
      pairsPerSecond: this.rates.pairs,
      hitsPerSecond: this.rates.hits,
      dropped: rows.reduce((sum, r) => sum + r.summary.dropped, 0),
      feedSkipped: this.feedSkipped,
      metrics: this.metrics.where ?? undefined,
    };
  }

  /** Runs one prompt line; the caller dispatches accepted/rejected from the outcome. */
  async submit(input: string): Promise<Outcome> {
    const line = input.trim();
    if (line === "") return { ok: true, output: [] };
    if (line.startsWith(":")) return runCommand(this, line);
    if (/^(track|set)\b/.test(line))
      return this.addStatements(this.frontEnd.checkLine(line, this.statements.names()));
    return {
      ok: false,
      error:
        "error: a line is a `track ...` or `set ...` statement, or a :command (:help lists them)",
    };
  }

  /** Adds checked statements: trackers start at once, options are recorded. */
  async addStatements(result: CheckResult): Promise<Outcome> {
    if (!result.ok) return { ok: false, error: result.errors };
    const output: string[] = result.warnings ? result.warnings.split("\n") : [];
    const idle = this.statements.trackers().length === 0;
    if (result.sets.length > 0 && idle && this.session) {
      // Options are given to a session when it opens: with no tracker yet, open it again.
      const session = this.session;
      this.session = null;
      await session.close();
    }
    for (const set of result.sets) {
      this.options = { ...this.options, [set.name]: set.value };
      output.push(
        idle
          ? `${set.name} = ${JSON.stringify(set.value)}`
          : `${set.name} = ${JSON.stringify(set.value)} is kept for :save; the trackers already ` +
              "running keep the value the session opened with (:rm them all to apply it)",
      );
    }
    const started: string[] = [];
    for (const plan of result.trackers) {
      try {
        const session = await this.open();
        if (this.removed.has(plan.name) && session.backend.startsWith("replay")) {
          // The replay session keeps a removed tracker's name to itself for good.
          throw new Error(`a replay cannot reuse the name of a removed tracker: name it otherwise`);
        }
        await session.add(plan);
        this.stopped.delete(plan.name);
        this.watchEnd(session);
      } catch (error) {
        this.statements.add({
          ...result,
          trackers: result.trackers.filter((t) => started.includes(t.name)),
          sets: [],
        });
        return {
          ok: false,
          error: `error: cannot start ${plan.name}: ${(error as Error).message}`,
        };
      }
      started.push(plan.name);
      output.push(`started ${plan.name}`);
    }
    this.statements.add(result);
    this.poll();
    return { ok: true, output, select: started.at(-1) };
  }

  /** Detaches the UI and closes the session: the final summaries, one per tracker. */
  async closeSession(): Promise<SummaryRecord[]> {
    this.detach();
    await this.metrics.stop(); // no scrape reads the session while it closes
    const session = this.session ?? (this.opening ? await this.opening.catch(() => null) : null);
    this.session = null;
    return session ? session.close() : [];
  }

  /** Backends that finish on their own (replay) say so in the status line and the feed. */
  private watchEnd(session: Session): void {
    if (!session.done) return;
    const generation = ++this.addGeneration;
    this.ended = false;
    session.done().then(
      () => {
        if (generation !== this.addGeneration) return;
        this.ended = true;
        this.pendingNotices.push("the trace was replayed to its end: these counters are final");
      },
      (error: Error) => this.pendingWarnings.push(error.message),
    );
  }

  /** The open session, for commands that need it (:stop, :start, :rm). */
  currentSession(): Session | null {
    return this.session;
  }
}
