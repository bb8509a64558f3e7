// A scripted Session and a tiny front end for driving the shell in tests without a kernel,
// a trace or the real front end: tests call pair()/timeout() and see what the UI shows.

import type { OptionValue, TrackerPlan } from "../../src/compiler/plan.ts";
import { LatencyStats } from "../../src/records/stats.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import type { CheckResult, FrontEnd } from "../../src/repl/statements.ts";
import type { Artifact, Session, SessionListener, TrackerStats } from "../../src/session/types.ts";

interface FakeTracker {
  plan: TrackerPlan;
  stats: LatencyStats;
  running: boolean;
}

export class FakeSession implements Session {
  readonly backend: string;
  readonly trackers = new Map<string, FakeTracker>();
  readonly calls: string[] = [];
  closed = false;
  /** add() of this tracker name fails, as a live backend without permission would. */
  failAdd: string | null = null;
  private clock = 1_000_000_000n;

  constructor(
    readonly listener: SessionListener,
    backend = "fake",
  ) {
    this.backend = backend;
  }

  async compile(plan: TrackerPlan): Promise<Artifact> {
    return { backend: "replay", plan };
  }

  async load(artifact: Artifact): Promise<void> {
    await this.add(artifact.plan);
  }

  async add(plan: TrackerPlan): Promise<void> {
    this.calls.push(`add ${plan.name}`);
    if (this.failAdd === plan.name) throw new Error("operation not permitted (run as root)");
    if (this.trackers.has(plan.name)) throw new Error(`${plan.name} already exists`);
    this.trackers.set(plan.name, { plan, stats: new LatencyStats(plan.name), running: true });
  }

  async stop(tracker: string): Promise<void> {
    this.calls.push(`stop ${tracker}`);
    const found = this.trackers.get(tracker);
    if (found) found.running = false;
  }

  async remove(tracker: string): Promise<void> {
    this.calls.push(`remove ${tracker}`);
    this.trackers.delete(tracker);
  }

  stats(): TrackerStats[] {
    return [...this.trackers.values()].map((t) => ({
      tracker: t.plan.name,
      running: t.running,
      summary: t.stats.summary(),
    }));
  }

  async close(): Promise<SummaryRecord[]> {
    this.closed = true;
    return [...this.trackers.values()].map((t) => t.stats.summary());
  }

  /** One completed pair; a hit goes to the listener when it passes the threshold. */
  pair(tracker: string, latencyNs: number): void {
    const found = this.trackers.get(tracker);
    if (!found?.running) return;
    found.stats.recordPair(latencyNs);
    const { thresholdNs } = found.plan;
    if (thresholdNs !== null && latencyNs > thresholdNs) {
      found.stats.hits++;
      this.listener.hit(this.hit(tracker, latencyNs));
    }
  }

  hit(tracker: string, latencyNs: number): HitRecord {
    this.clock += 1_000_000n;
    const context = (probe: string, ts: bigint) => ({
      probe,
      ts_ns: ts,
      cpu: 1,
      tid: 42,
      pid: 42,
      comm: "worker",
    });
    return {
      type: "hit",
      tracker,
      kind: "threshold",
      latency_ns: latencyNs,
      key: [42n],
      begin: context("sched:sched_wakeup", this.clock - BigInt(latencyNs)),
      end: context("sched:sched_switch", this.clock),
      snapshot: null,
      stack: null,
    };
  }
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
const PROBES = [
  "sched_wakeup",
  "sched_switch",
  "sched_waking",
  "irq_handler_entry",
  "irq_handler_exit",
];

/** A fake front end for: `track [NAME:] A(k) -> B(k) [> N unit]` and `set NAME = VALUE`. */
export function fakePlan(
  name: string,
  begin: string,
  end: string,
  thresholdNs: number | null,
  source: string,
) {
  const range = {
    file: "<prompt>",
    line: 1,
    col: 1,
    endLine: 1,
    endCol: 1,
    offset: 0,
    endOffset: 0,
  };
  const side = (probe: string) => ({
    probe: { id: `sched:${probe}`, category: "sched", name: probe, eventId: 1, fields: [] },
    key: [],
    filter: null,
    range,
  });
  return {
    name,
    begins: [side(begin)],
    ends: [side(end)],
    keyTypes: [],
    thresholdNs,
    timeoutNs: null,
    keep: "first",
    capacity: 8192,
    actions: [{ kind: "print", range }],
    range,
    source,
  } as TrackerPlan;
}

function checkOne(existing: readonly string[], text: string, file: string): CheckResult {
  const set = /^set\s+([\w.]+)\s*=\s*(\S+)$/.exec(text);
  if (set) {
    const value: OptionValue = set[2];
    return {
      ok: true,
      trackers: [],
      sets: [{ name: set[1], value, source: text }],
      options: {},
      warnings: "",
    };
  }
  const track =
    /^track\s+(?:(\w+):\s*)?(\w+)\(\w+\)\s*->\s*(\w+)\(\w+\)(?:\s*>\s*(\d+)(ns|us|ms|s))?\s*$/.exec(
      text,
    );
  if (!track)
    return { ok: false, errors: `${file}:1:1: error: cannot parse this line\n${text}\n^` };
  const [, given, begin, end, amount, unit] = track;
  for (const probe of [begin, end]) {
    if (!PROBES.includes(probe)) {
      const col = text.indexOf(probe) + 1;
      return {
        ok: false,
        errors: `${file}:1:${col}: error: unknown tracepoint '${probe}'\n  ${text}\n  ${" ".repeat(col - 1)}${"^".repeat(probe.length)}`,
      };
    }
  }
  const name = given ?? `${begin}_to_${end}`;
  if (existing.includes(name)) {
    return { ok: false, errors: `${file}:1:7: error: duplicate tracker name '${name}'` };
  }
  const threshold = amount ? Number(amount) * UNITS[unit] : null;
  return {
    ok: true,
    trackers: [fakePlan(name, begin, end, threshold, text)],
    sets: [],
    options: {},
    warnings: "",
  };
}

export const fakeFrontEnd: FrontEnd = {
  checkLine: (line, existing) => checkOne(existing, line.trim(), "<prompt>"),
  checkFile(text, file, existing) {
    const trackers: TrackerPlan[] = [];
    const sets: Extract<CheckResult, { ok: true }>["sets"] = [];
    const names = [...existing];
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const result = checkOne(names, line, file);
      if (!result.ok) return result;
      trackers.push(...result.trackers);
      sets.push(...result.sets);
      names.push(...result.trackers.map((t) => t.name));
    }
    return { ok: true, trackers, sets, options: {}, warnings: "" };
  },
};
