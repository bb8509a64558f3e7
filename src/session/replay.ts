// The "replay" backend: a Session over a recorded trace. Trackers added together share
// one pass over the trace; a tracker added later (from the shell) gets a pass of its own
// over the whole trace, so every tracker sees every event whenever it was added.

import { hasAction } from "../compiler/actions.ts";
import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";
import type { SummaryRecord } from "../records/types.ts";
import type { TraceFormat } from "../replay/event.ts";
import { Interpreter } from "../replay/interpreter.ts";
import { readTrace, TraceError } from "../replay/reader.ts";
import type { SessionOptions } from "./backends.ts";
import { HitActions } from "./hit-actions.ts";
import { TraceWindows } from "./replay-snapshots.ts";
import type { Artifact, Session, SessionListener, TrackerStats } from "./types.ts";

export { TraceError } from "../replay/reader.ts";

interface Pass {
  interpreter: Interpreter;
  /** Snapshots and exec, as on every backend; windows when a tracker takes snapshots. */
  actions: HitActions;
  windows: TraceWindows | null;
  plans: TrackerPlan[];
  abort: AbortController;
  finished: Promise<void>;
  running: boolean;
  /** Trackers removed from this pass: no longer in stats(); a later add() starts afresh. */
  removed: Set<string>;
}

export class ReplaySession implements Session {
  readonly backend: string;
  private readonly passes: Pass[] = [];
  private batch: TrackerPlan[] = [];
  private scheduled: Promise<void> | null = null;
  /** Stopped before their pass started (added and stopped in the same turn). */
  private readonly stopped = new Set<string>();
  private fatal: Error | null = null;
  private awaited = false;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly listener: SessionListener,
    private readonly options: Record<string, OptionValue>,
    private readonly replay: NonNullable<SessionOptions["replay"]>,
  ) {
    this.backend = `replay ${path === "-" ? "<stdin>" : path}`;
  }

  /** Replay runs the plan itself: the interpreter is the reference semantics. */
  async compile(plan: TrackerPlan): Promise<Artifact> {
    return { backend: "replay", plan };
  }

  async add(plan: TrackerPlan): Promise<void> {
    await this.load(await this.compile(plan));
  }

  async load(artifact: Artifact): Promise<void> {
    const { plan } = artifact;
    if (this.closed) throw new Error("the replay session is closed");
    if (this.path === "-" && this.passes.length > 0) {
      throw new Error(
        "stdin was already replayed: trackers added now cannot see it; replay a file",
      );
    }
    this.stopped.delete(plan.name);
    this.batch.push(plan);
    // Trackers added in the same turn (a whole file) start together: one pass.
    this.scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.startPass(),
    );
  }

  async stop(tracker: string): Promise<void> {
    this.stopped.add(tracker);
    for (const pass of this.passes) pass.interpreter.stop(tracker);
  }

  async remove(tracker: string): Promise<void> {
    await this.stop(tracker);
    for (const pass of this.passes) pass.removed.add(tracker);
    this.batch = this.batch.filter((plan) => plan.name !== tracker);
  }

  stats(): TrackerStats[] {
    return this.passes.flatMap((pass) =>
      pass.interpreter
        .trackerSummaries()
        .filter((t) => !pass.removed.has(t.name))
        .map((t) => ({ tracker: t.name, running: pass.running && !t.stopped, summary: t.summary })),
    );
  }

  async done(): Promise<void> {
    this.awaited = true;
    while (this.scheduled !== null || this.passes.some((p) => p.running)) {
      await this.scheduled;
      await Promise.all(this.passes.map((p) => p.finished));
    }
    if (this.fatal) throw this.fatal;
  }

  async close(): Promise<SummaryRecord[]> {
    this.closed = true;
    await this.scheduled;
    for (const pass of this.passes) pass.abort.abort();
    await Promise.all(this.passes.map((p) => p.finished));
    await Promise.all(this.passes.map((p) => p.actions.close()));
    return this.passes.flatMap((p) => p.interpreter.summaries());
  }

  private startPass(): void {
    this.scheduled = null;
    const plans = this.batch;
    this.batch = [];
    if (plans.length === 0 || this.closed) return;
    const takesSnapshots = plans.some((plan) => hasAction(plan, "snapshot"));
    const windows = takesSnapshots ? new TraceWindows(this.options) : null;
    const actions = new HitActions(this.options, this.listener, async () => windows!);
    const byName = new Map(plans.map((plan) => [plan.name, plan]));
    const interpreter = new Interpreter({
      hit: (hit) => actions.deliver(byName.get(hit.tracker)!, hit),
      warning: (message) => this.listener.warning(message),
      strict: this.replay.strict,
      traceName: this.path === "-" ? "<stdin>" : this.path,
    });
    for (const plan of plans) interpreter.add(plan);
    for (const name of this.stopped) interpreter.stop(name);
    const abort = new AbortController();
    const pass: Pass = {
      interpreter,
      actions,
      windows,
      plans,
      abort,
      running: true,
      finished: Promise.resolve(),
      removed: new Set(),
    };
    pass.finished = this.runPass(pass).finally(() => {
      pass.running = false;
    });
    this.passes.push(pass);
  }

  private async runPass(pass: Pass): Promise<void> {
    const { interpreter, windows, actions } = pass;
    const name = this.path === "-" ? "<stdin>" : this.path;
    try {
      for (const plan of pass.plans) await actions.prepare(plan);
      const result = await readTrace(
        {
          path: this.path,
          format: this.replay.format as TraceFormat | undefined,
          strict: this.replay.strict,
          speed: this.replay.speed,
          signal: pass.abort.signal,
          interest: [...interpreter.eventNames()],
          reuseEvents: true,
          onStart: (_format, header) => windows?.setHeader(header),
        },
        windows === null
          ? (event) => interpreter.feed(event)
          : (event) => {
              windows.line(event);
              interpreter.feed(event);
            },
      );
      interpreter.finish(name);
      windows?.flush();
      await actions.settled();
      const malformed = result.malformed + interpreter.malformedEvents;
      if (malformed > 0) {
        const first = result.firstMalformed ?? {
          lineNo: interpreter.firstMalformed!.lineNo,
          reason: `${interpreter.firstMalformed!.name}: fields not in the shape this event prints`,
        };
        this.listener.warning(
          `${name}: ${malformed} malformed line${malformed === 1 ? "" : "s"} skipped ` +
            `(first at line ${first.lineNo}: ${first.reason}; --strict makes them fatal)`,
        );
      }
    } catch (error) {
      if (!(error instanceof TraceError)) throw error;
      this.fatal ??= error;
      if (!this.awaited) this.listener.warning(error.message);
    }
  }
}

export async function openReplaySession(options: SessionOptions): Promise<Session> {
  if (!options.replay) throw new Error("the replay backend needs a trace (--replay TRACE)");
  return new ReplaySession(options.replay.path, options.listener, options.options, options.replay);
}
