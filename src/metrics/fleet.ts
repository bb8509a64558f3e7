// The trackers of `ltsh serve`: one session per .lt file (a file's `set` options are its
// session's), and the reload of SIGHUP. A tracker whose statement and file options did not
// change keeps running with its counters; a changed one restarts; a file with errors keeps
// its old trackers and has its diagnostics logged.

import type { CatalogIndex } from "../compiler/catalog/index.ts";
import type { Diagnostic } from "../compiler/diagnostic.ts";
import type { FilePlan, TrackerPlan } from "../compiler/plan.ts";
import { formatSummary } from "../records/output.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import { type BackendName, openSession, type SessionOptions } from "../session/backends.ts";
import type { Session } from "../session/types.ts";
import type { Journal } from "./journal.ts";

export interface FleetOptions {
  backend: BackendName;
  replay?: SessionOptions["replay"];
  catalog: CatalogIndex;
  journal: Journal;
  /** `tracker` is the plan it came from (its actions say whether its hits are printed). */
  hit(hit: HitRecord, tracker: TrackerPlan | undefined): void;
}

/** One file's running trackers: what each was started from decides whether it changed. */
interface RunningFile {
  path: string;
  optionsKey: string;
  session: Session;
  /** Tracker name → what it was started from (the text of its `track` statement). */
  trackers: Map<string, TrackerPlan>;
}

/** A file compiled on (re)load: its plan, or null when it has errors (then logged). */
type Compiled = { path: string; plan: FilePlan | null };

export class Fleet {
  private readonly running = new Map<string, RunningFile>();
  /** The reload in progress (or the last one): reloads queue behind it, close() waits. */
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly files: readonly string[],
    private readonly options: FleetOptions,
  ) {}

  /**
   * Compiles and starts every file. False when a file has errors (logged, nothing started);
   * throws when a backend fails to open or a tracker fails to load.
   */
  async start(): Promise<boolean> {
    const compiled = await this.compileAll();
    if (compiled.some((c) => c.plan === null)) return false;
    for (const { path, plan } of compiled) {
      const file = await this.openFile(path, plan!);
      for (const tracker of plan!.trackers) await this.addTracker(file, tracker);
    }
    // The files' own lists: a replay's stats() may not list a tracker its pass has yet to reach.
    const names = [...this.running.values()].flatMap((f) => [...f.trackers.keys()]);
    this.options.journal.info(`started ${names.length} trackers: ${names.join(", ")}`);
    return true;
  }

  /** SIGHUP: reloads the files, one reload at a time. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  /** Every running tracker's current summary (what a scrape reads). */
  summaries(): SummaryRecord[] {
    return [...this.running.values()].flatMap((f) => f.session.stats().map((s) => s.summary));
  }

  /** Detaches everything (after a reload in progress) and logs each tracker's final line. */
  async close(): Promise<SummaryRecord[]> {
    await this.reloading;
    const summaries: SummaryRecord[] = [];
    const files = [...this.running.values()];
    // Out of what scrapes read before a session's programs and maps go away.
    this.running.clear();
    for (const file of files) {
      // A session's close() also returns the trackers a reload stopped: keep the last of each
      // running name.
      const last = new Map((await file.session.close()).map((s) => [s.tracker, s]));
      for (const name of file.trackers.keys()) if (last.has(name)) summaries.push(last.get(name)!);
    }
    for (const s of summaries) this.options.journal.info(formatSummary(s).split("\n")[0]);
    return summaries;
  }

  private async reloadNow(): Promise<void> {
    const journal = this.options.journal;
    journal.info(`reloading ${this.files.join(", ")}`);
    for (const { path, plan } of await this.compileAll()) {
      if (plan === null) {
        journal.error(`${path} has errors: its trackers keep running unchanged`);
        continue;
      }
      try {
        await this.update(this.running.get(path)!, plan);
      } catch (error) {
        journal.error(`${path}: reload failed: ${(error as Error).message}`);
      }
    }
  }

  /** Applies a file's new plan to its running trackers. */
  private async update(file: RunningFile, plan: FilePlan): Promise<void> {
    if (optionsKey(plan) !== file.optionsKey) {
      this.options.journal.notice(`${file.path}: its options changed: every tracker restarts`);
      this.running.delete(file.path); // scrapes stop reading it before it closes
      await file.session.close();
      const reopened = await this.openFile(file.path, plan);
      for (const tracker of plan.trackers) await this.addTracker(reopened, tracker);
      return;
    }
    const wanted = new Map(plan.trackers.map((t) => [t.name, t]));
    const kept: string[] = [];
    for (const [name, running] of file.trackers) {
      if (wanted.get(name)?.source === running.source) kept.push(name);
      else await this.removeTracker(file, name, wanted.has(name) ? "changed" : "gone");
    }
    for (const tracker of plan.trackers) {
      if (!file.trackers.has(tracker.name)) await this.addTracker(file, tracker);
    }
    if (kept.length > 0) this.options.journal.info(`${file.path}: unchanged: ${kept.join(", ")}`);
  }

  private async openFile(path: string, plan: FilePlan): Promise<RunningFile> {
    const journal = this.options.journal;
    const trackers = new Map<string, TrackerPlan>();
    const session = await openSession(this.options.backend, {
      options: plan.options,
      replay: this.options.replay,
      listener: {
        hit: (hit) => this.options.hit(hit, trackers.get(hit.tracker)),
        warning: (message) => journal.warning(`warning: ${message}`),
        notice: (message) => journal.notice(message),
      },
    });
    // A replay ends with its trace, or fails on a corrupt one: either is news for the log.
    session.done?.().then(
      () => journal.info(`${path}: the trace has ended; the counters stay served`),
      (error) => journal.error(`${path}: error: ${(error as Error).message}`),
    );
    const file = { path, optionsKey: optionsKey(plan), session, trackers };
    this.running.set(path, file);
    return file;
  }

  private async addTracker(file: RunningFile, tracker: TrackerPlan): Promise<void> {
    await file.session.add(tracker);
    file.trackers.set(tracker.name, tracker);
    this.options.journal.info(`${file.path}: started ${tracker.name}`);
  }

  private async removeTracker(file: RunningFile, name: string, why: string): Promise<void> {
    await file.session.remove(name);
    file.trackers.delete(name);
    this.options.journal.info(`${file.path}: stopped ${name} (${why})`);
  }

  /** Every file compiled, diagnostics logged; a tracker name taken by two files is an error. */
  private async compileAll(): Promise<Compiled[]> {
    const { compileFile } = await import("../compiler/compile.ts");
    const { renderDiagnostics } = await import("../compiler/render.ts");
    const compiled = this.files.map((path) => {
      const { plan, diagnostics, text } = compileFile(path, {
        catalog: this.options.catalog,
        backend: this.options.backend, // what one backend cannot run is an error (chains live)
      });
      this.logDiagnostics(diagnostics, renderDiagnostics(diagnostics, text));
      return { path, plan };
    });
    this.refuseSharedNames(compiled);
    return compiled;
  }

  private logDiagnostics(diagnostics: Diagnostic[], rendered: string): void {
    if (diagnostics.length === 0) return;
    const errors = diagnostics.some((d) => d.severity === "error");
    this.options.journal.log(errors ? "error" : "warning", rendered);
  }

  /** Metrics are labelled by tracker name, so a name must be one file's only. */
  private refuseSharedNames(compiled: Compiled[]): void {
    const owner = new Map<string, string>();
    for (const c of compiled) {
      const names = c.plan?.trackers.map((t) => t.name) ?? [
        ...(this.running.get(c.path)?.trackers.keys() ?? []),
      ];
      for (const name of names) {
        const other = owner.get(name);
        if (other !== undefined && c.plan !== null) {
          this.options.journal.error(
            `${c.path}: error: tracker '${name}' is also defined in ${other}`,
          );
          c.plan = null;
        }
        owner.set(name, c.path);
      }
    }
  }
}

function optionsKey(plan: FilePlan): string {
  return JSON.stringify(plan.options);
}
