// The analysis behind ltsh-lami's results phase: a .lt program's trackers replayed by the
// reference interpreter over the events of [begin, end] only (LAMI's time range), with no
// side effects (an analysis reads: snapshot and exec actions are left out).

import type { TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import type { TraceEvent } from "../replay/event.ts";
import { Interpreter } from "../replay/interpreter.ts";
import { readTrace } from "../replay/reader.ts";
import { timestampNs } from "../replay/tracker.ts";

export interface AnalysisInput {
  trackers: TrackerPlan[];
  /** A text trace ltsh's replay reads (ftrace, perf script, babeltrace). */
  tracePath: string;
  /** Name of the trace in messages (the path the user gave). */
  traceName: string;
  beginNs: bigint | null;
  endNs: bigint | null;
  /** Called now and then with the number of events read so far. */
  progress?: (events: number) => void;
  warning: (message: string) => void;
}

export interface AnalysisResult {
  hits: HitRecord[];
  summaries: SummaryRecord[];
  /** Times of the first and last events analysed; null when none was in the range. */
  firstNs: bigint | null;
  lastNs: bigint | null;
}

const PROGRESS_EVERY = 100_000;

/** [sec, nsec] of a nanosecond time, for comparing with events without a bigint each. */
function split(ns: bigint | null): [number, number] | null {
  if (ns === null) return null;
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function before(event: TraceEvent, at: [number, number]): boolean {
  return event.sec < at[0] || (event.sec === at[0] && event.nsec < at[1]);
}

export async function analyse(input: AnalysisInput): Promise<AnalysisResult> {
  const hits: HitRecord[] = [];
  const interpreter = new Interpreter({
    hit: (hit) => hits.push(hit),
    warning: input.warning,
    traceName: input.traceName,
  });
  // The interpreter emits hits only: an analysis takes no snapshot and runs no command.
  for (const plan of input.trackers) interpreter.add(plan);
  const begin = split(input.beginNs);
  const end = split(input.endNs);
  const past = new AbortController();
  let first: [number, number] | null = null;
  let last: [number, number] = [0, 0];
  let events = 0;
  await readTrace(
    {
      path: input.tracePath,
      interest: [...interpreter.eventNames()],
      reuseEvents: true,
      signal: past.signal,
    },
    (event) => {
      if (begin !== null && before(event, begin)) return;
      if (end !== null && !before(event, [end[0], end[1] + 1])) {
        past.abort();
        return;
      }
      first ??= [event.sec, event.nsec];
      last = [event.sec, event.nsec];
      interpreter.feed(event);
      if (++events % PROGRESS_EVERY === 0) input.progress?.(events);
    },
  );
  interpreter.finish(input.traceName);
  const at = (time: [number, number] | null) => (time === null ? null : timestampNs(...time));
  return {
    hits,
    summaries: interpreter.summaries(),
    firstNs: at(first),
    lastNs: first === null ? null : at(last),
  };
}
