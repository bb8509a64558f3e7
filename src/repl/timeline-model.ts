// A snapshot file as the timeline view draws it: which task ran on each CPU and when (from
// sched_switch), IRQ and softirq intervals, the hit's span and its keyed task's wakeup and
// switch-in, a chain hit's links, and every event in order for stepping. Read with the
// replay readers.

import { VECTOR_NAMES } from "../compiler/contexts.ts";
import { stageText } from "../records/output.ts";
import {
  type HitNote,
  isHitMarkerLine,
  type MarkedTask,
  parseHitNote,
} from "../records/snapshot-note.ts";
import type { TraceEvent } from "../replay/event.ts";
import { eventFields } from "../replay/fields.ts";
import { readTrace } from "../replay/reader.ts";

/** `local_timer_entry` → ["local_timer", "entry"]: an x86 irq_vectors scope edge. */
const VECTOR_EDGE = new RegExp(`^(${VECTOR_NAMES.join("|")})_(entry|exit)$`);

/** Times are nanoseconds after the snapshot's first event (numbers: a window is short). */
export interface TimelineEvent {
  ns: number;
  cpu: number;
  name: string;
  lineNo: number;
  line: string;
}

/** A task on a CPU from one switch to the next. */
export interface TaskRun {
  cpu: number;
  fromNs: number;
  toNs: number;
  tid: number;
  comm: string;
}

/** A hard IRQ handler (or an x86 vector: the local APIC timer, an IPI) or a softirq on a CPU. */
export interface IrqInterval {
  cpu: number;
  fromNs: number;
  toNs: number;
  kind: "irq" | "softirq";
  /** "36 virtio1-req.0" for an IRQ, "local_timer" for a vector, "TIMER" for a softirq. */
  label: string;
}

export interface TaskMark {
  kind: "wakeup" | "switch-in";
  ns: number;
  cpu: number;
  /** Index into events. */
  event: number;
}

/** A chain hit's stage: where and when each link of its path happened. */
export interface ChainLink {
  /** origin, raise, softirq, waking, run, … (grammar/README.md "Chains"). */
  stage: string;
  ns: number;
  cpu: number;
  /** "raise NET_RX", "waking udp-reader-17462": the stage as the hit line says it. */
  text: string;
}

export interface Timeline {
  path: string;
  /** Absolute time (ns) of ns = 0. */
  originNs: bigint;
  endNs: number;
  cpus: number[];
  runs: TaskRun[];
  irqs: IrqInterval[];
  events: TimelineEvent[];
  /** The hit named in the header, with its span in timeline time; null for a plain trace. */
  note: HitNote | null;
  span: { fromNs: number; toNs: number } | null;
  /** The keyed task (from the note), whose wakeup and switch-in are marked. */
  task: MarkedTask | null;
  marks: TaskMark[];
  /** A chain hit's stages, in order; empty for other hits. */
  links: ChainLink[];
}

/** A snapshot that cannot be shown: one line for the user. */
export class TimelineError extends Error {}

/** The idle task (swapper), drawn as a gap rather than as a task. */
export function isIdle(tid: number): boolean {
  return tid === 0;
}

/** Reads a snapshot (or any ftrace text trace) into a Timeline. */
export async function loadTimeline(path: string): Promise<Timeline> {
  let header: string[] = [];
  const builder = new TimelineBuilder(path);
  await readTrace({ path, onStart: (_format, lines) => (header = lines) }, (event) =>
    builder.add(event),
  );
  return builder.finish(parseHitNote(header));
}

/** Accumulates events in order; finish() closes what is still open at the window's end. */
export class TimelineBuilder {
  private originNs: bigint | null = null;
  private readonly events: TimelineEvent[] = [];
  private readonly runs: TaskRun[] = [];
  private readonly irqs: IrqInterval[] = [];
  private readonly running = new Map<number, TaskRun>();
  private readonly openIrqs = new Map<string, IrqInterval>();
  private readonly cpus = new Set<number>();
  private readonly hitMarkers: number[] = [];
  private lastNs = 0;

  constructor(private readonly path: string) {}

  add(event: TraceEvent): void {
    const absolute = BigInt(event.sec) * 1_000_000_000n + BigInt(event.nsec);
    this.originNs ??= absolute;
    const ns = Number(absolute - this.originNs);
    this.lastNs = Math.max(this.lastNs, ns);
    // ltsh's own B/E markers are the hit's span, not something that ran.
    if (event.name === "tracing_mark_write" && isHitMarkerLine(event.line)) {
      this.hitMarkers.push(ns);
      return;
    }
    const cpu = event.cpu;
    this.cpus.add(cpu);
    this.events.push({ ns, cpu, name: event.name, lineNo: event.lineNo, line: event.line.trim() });
    if (!this.running.has(cpu)) this.startRun(cpu, 0, event.tid, event.comm);
    if (event.name === "sched_switch") this.switchOn(event, ns);
    else this.irqEvent(event, ns);
  }

  private startRun(cpu: number, fromNs: number, tid: number, comm: string): void {
    const run = { cpu, fromNs, toNs: fromNs, tid, comm };
    this.running.set(cpu, run);
    this.runs.push(run);
  }

  private switchOn(event: TraceEvent, ns: number): void {
    const fields = eventFields(event);
    const nextPid = Number(fields?.get("next_pid"));
    if (!Number.isFinite(nextPid)) return;
    const current = this.running.get(event.cpu) as TaskRun;
    current.toNs = ns;
    this.startRun(event.cpu, ns, nextPid, fields?.get("next_comm") ?? "?");
  }

  private irqEvent(event: TraceEvent, ns: number): void {
    const kind: IrqInterval["kind"] = event.name.startsWith("softirq_") ? "softirq" : "irq";
    // x86 vectors (the local APIC timer's hrtimers, IPIs) are hard-IRQ time too, named by vector
    const vector = VECTOR_EDGE.exec(event.name);
    const edge =
      vector?.[2] ?? /^(?:irq_handler|softirq)_(entry|exit)$/.exec(event.name)?.[1] ?? null;
    if (edge === null) return;
    const key = `${event.cpu}:${vector ? "vector" : kind}`;
    if (edge === "entry") {
      const interval = { cpu: event.cpu, fromNs: ns, toNs: ns, kind, label: irqLabel(event) };
      this.openIrqs.set(key, interval);
      this.irqs.push(interval);
      return;
    }
    const open = this.openIrqs.get(key);
    if (open) {
      open.toNs = ns;
      this.openIrqs.delete(key);
    } else {
      // An exit whose entry came before the window: it ran from the window's start.
      this.irqs.push({ cpu: event.cpu, fromNs: 0, toNs: ns, kind, label: irqLabel(event) });
    }
  }

  finish(note: HitNote | null): Timeline {
    if (this.originNs === null) throw new TimelineError(`${this.path}: no events to show`);
    const endNs = this.lastNs;
    for (const run of this.running.values()) run.toNs = endNs;
    for (const irq of this.openIrqs.values()) irq.toNs = endNs;
    const span = this.spanOf(note);
    const task = note?.task ?? null;
    return {
      path: this.path,
      originNs: this.originNs,
      endNs,
      cpus: [...this.cpus].sort((a, b) => a - b),
      runs: this.runs.filter((run) => run.toNs > run.fromNs || endNs === 0),
      irqs: this.irqs,
      events: this.events,
      note,
      span,
      task,
      marks: task === null || span === null ? [] : taskMarks(this.events, task.tid, span.fromNs),
      links: (note?.hit.chain ?? []).map((stage) => ({
        stage: stage.stage,
        ns: Number(BigInt(stage.ts_ns) - (this.originNs as bigint)),
        cpu: stage.cpu,
        text: stageText(stage),
      })),
    };
  }

  /** The markers' times (the trace's own clock); else the note's times; null without a note. */
  private spanOf(note: HitNote | null): Timeline["span"] {
    if (this.hitMarkers.length >= 2) {
      return { fromNs: this.hitMarkers[0], toNs: this.hitMarkers[this.hitMarkers.length - 1] };
    }
    if (note === null || this.originNs === null) return null;
    const fromNs = Number(note.hit.begin.ts_ns - this.originNs);
    return { fromNs, toNs: fromNs + note.hit.latency_ns };
  }
}

/** "36 virtio1-req.0" (an IRQ's number and name), "TIMER" (a softirq), "local_timer" (a vector). */
function irqLabel(event: TraceEvent): string {
  const vector = VECTOR_EDGE.exec(event.name);
  if (vector) return vector[1];
  const action = /action=(\w+)/.exec(event.payload);
  if (action) return action[1];
  const irq = /irq=(\d+)(?: name=(\S+))?/.exec(event.payload);
  return irq ? `${irq[1]} ${irq[2] ?? ""}`.trim() : "?";
}

/** The keyed task's wakeup at (or just before) the span's begin, and its next switch-in. */
function taskMarks(events: TimelineEvent[], tid: number, beginNs: number): TaskMark[] {
  const wakes = new RegExp(`: sched_wakeup: .*\\bpid=${tid}\\b`);
  const switchesIn = new RegExp(`: sched_switch: .*==> .*next_pid=${tid}\\b`);
  let wakeup = -1;
  for (let i = 0; i < events.length && events[i].ns <= beginNs; i++) {
    if (events[i].name === "sched_wakeup" && wakes.test(events[i].line)) wakeup = i;
  }
  const marks: TaskMark[] = [];
  if (wakeup >= 0) marks.push(mark("wakeup", events, wakeup));
  for (let i = Math.max(0, wakeup); i < events.length; i++) {
    if (
      events[i].ns >= beginNs &&
      events[i].name === "sched_switch" &&
      switchesIn.test(events[i].line)
    ) {
      marks.push(mark("switch-in", events, i));
      break;
    }
  }
  return marks;
}

function mark(kind: TaskMark["kind"], events: TimelineEvent[], index: number): TaskMark {
  return { kind, ns: events[index].ns, cpu: events[index].cpu, event: index };
}
