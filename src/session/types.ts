// The Session interface the CLI and the shell drive backends through.

import type { TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import type { BackendName } from "./backends.ts";

/** Live counters of one tracker, polled by the shell a few times a second. */
export interface TrackerStats {
  tracker: string;
  running: boolean;
  summary: SummaryRecord;
}

export interface SessionListener {
  hit(hit: HitRecord): void;
  /** Non-fatal conditions a user must see: a probe the trace never contains, lost events, ... */
  warning(message: string): void;
  /** Progress a user waits on (a module being built); not a problem. */
  notice?(message: string): void;
}

/**
 * A tracker as its backend runs it, made by Session.compile(): generated BPF programs (live),
 * a built kernel module (kmod), the plan itself (replay). Plain data, so the compiled cache
 * can keep it between runs; each backend extends it with what it loads.
 */
export interface Artifact {
  backend: BackendName;
  plan: TrackerPlan;
}

/**
 * A set of running trackers on one backend. The CLI compiles every tracker of a file (or
 * takes the compiled cache's artifacts) and loads them, and closes on Ctrl-C or --for; the
 * shell adds, stops and removes them one at a time.
 */
export interface Session {
  /** "live eBPF", "replay trace.txt", "kmod" — shown in the shell's status line. */
  readonly backend: string;
  /** The tracker as this backend runs it; tag numbers for its records are taken in order. */
  compile(plan: TrackerPlan): Promise<Artifact>;
  /** Starts a compiled tracker (from compile(), or the compiled cache of an earlier run). */
  load(artifact: Artifact): Promise<void>;
  /**
   * Starts a file's trackers, in order, where the backend does better than load() on each
   * (startAll()): live eBPF loads them all before it attaches any, so that no tracker's hits
   * wait in the ring while the verifier checks the next one.
   */
  loadAll?(artifacts: Artifact[]): Promise<void>;
  /** compile() then load(). */
  add(plan: TrackerPlan): Promise<void>;
  stop(tracker: string): Promise<void>;
  remove(tracker: string): Promise<void>;
  stats(): TrackerStats[];
  /** Detaches everything and returns the final summaries, one per tracker ever added. */
  close(): Promise<SummaryRecord[]>;
  /**
   * Optional, for backends that finish on their own (replay: the end of the trace).
   * Resolves when every tracker added so far has finished; rejects on a fatal input
   * error (a corrupt trace), which is then not also reported through warning().
   */
  done?(): Promise<void>;
}

/** Starts a file's trackers: the backend's loadAll(), else load() on each in turn. */
export async function startAll(session: Session, artifacts: Artifact[]): Promise<void> {
  if (session.loadAll) return session.loadAll(artifacts);
  for (const artifact of artifacts) await session.load(artifact);
}
