// irq_handler_exit's IRQ_WAKE_THREAD on kernels whose tracefs has no `fields` option (before
// 6.4: Debian's 6.1 PREEMPT_RT, where threaded IRQs are the rule). A second instance of the
// recorder's own, ltsh-<pid>-irqwake, records only irq_handler_exit with the event filter
// `ret == 2`: a copy of exactly the exits that woke their thread. Each copy is then matched
// to its exit line in the main buffer, whose `ret=handled` becomes `ret=2`; the other
// handled exits become `ret=1`, unhandled ones `ret=0`.
//
// Matching: both instances' probes run for one event, the copy's right after the main's
// (the copy's is registered later: tracepoint probes of one priority run in that order),
// with IRQs off, so no other event of that CPU comes between them. A copy therefore sits
// in its CPU's main sequence right after its own exit. Its timestamp is a little later
// (0 to 5 µs on this project's VM: two probes apart, a vCPU can be descheduled), but
// printed in µs, so a copy's place is known up to the main lines of its CPU printed with
// its very timestamp. It is matched when exactly one place there is an exit of its irq
// printed `handled`; a line two copies claim, or one of several a copy may be, stays as
// printed (and the replay says what that costs). Where either buffer lost events (full),
// the lines it cannot speak for stay as printed too.
//
// `fields` is exact and needs no second buffer, so the recorder prefers it (record.ts).

import { createReadStream } from "node:fs";
import { type BufferStats, TracefsInstance } from "../kernel/tracefs.ts";
import { forEachExit, type IrqReturn, LineRuns } from "./record-irq-return.ts";

/** The filter of the copy instance: the exits that returned IRQ_WAKE_THREAD. */
export const WAKE_THREAD_FILTER = "ret == 2";
const EXIT_EVENT = "irq:irq_handler_exit";

/** One irq_handler_exit line of the main buffer, and what the copies say about it. */
export interface CopiedExit {
  /** The line up to the payload, as IrqReturn's head. */
  head: string;
  irq: number;
  printed: "handled" | "unhandled";
  /** copied: its copy was matched; none: it has none; unknown: it cannot be told. */
  copy: "copied" | "none" | "unknown";
}

/** The CPU and timestamp of a tracefs line (timestamp as an integer of its printed digits). */
const CONTEXT = / \[(\d+)\] (?:\S+ +)?(\d+)\.(\d+): /;

function contextOf(line: string): { cpu: number; time: number } | null {
  const m = CONTEXT.exec(line);
  return m ? { cpu: Number(m[1]), time: Number(m[2] + m[3]) } : null;
}

/** One copy of an exit: where it was recorded, and the main exits it may be. */
interface Copy {
  time: number;
  irq: number;
  /** Ordinals (among the main exits) of the exits at the places the copy may sit. */
  candidates: number[];
  /** It may sit after the main lines lost on its CPU: its candidates cannot be told. */
  pastLoss: boolean;
}

/** The last main line seen on a CPU: its time, and its exit ordinal when a handled exit. */
interface Previous {
  time: number;
  handled: { ordinal: number; irq: number } | null;
}

/** Per CPU: its copies in order (those before `open` placed), and the last main line. */
interface CpuCopies {
  copies: Copy[];
  open: number;
  previous: Previous | null;
}

/** What each buffer lost: per CPU, from the buffers' stats. */
export interface Losses {
  /** CPUs whose main buffer dropped events (full): an exit its last copies may be is unknown. */
  main: ReadonlySet<number>;
  /** CPUs whose copy buffer dropped events: its main exits after its last copy are unknown. */
  copy: ReadonlySet<number>;
}

/** The copy instance's text: its copies per CPU, in order. */
async function copiesOf(chunks: AsyncIterable<Buffer>): Promise<Map<number, CpuCopies>> {
  const byCpu = new Map<number, CpuCopies>();
  const collect = (bytes: Buffer) =>
    forEachExit(bytes, (head, payload) => {
      const context = contextOf(head);
      const irq = /^irq=(-?\d+) /.exec(payload);
      if (context === null || irq === null) return;
      const cpu = byCpu.get(context.cpu) ?? { copies: [], open: 0, previous: null };
      byCpu.set(context.cpu, cpu);
      cpu.copies.push({ time: context.time, irq: Number(irq[1]), candidates: [], pastLoss: false });
    });
  const runs = new LineRuns();
  for await (const chunk of chunks) collect(runs.push(chunk));
  collect(runs.end());
  return byCpu;
}

/**
 * The main buffer's irq_handler_exit lines, each with whether a copy (from the copy
 * buffer's text) is its own; see the file comment for the rule.
 */
export async function matchCopiedExits(
  main: AsyncIterable<Buffer>,
  copy: AsyncIterable<Buffer>,
  losses: Losses,
): Promise<CopiedExit[]> {
  const byCpu = await copiesOf(copy);
  const exits: CopiedExit[] = [];
  // The place between `previous` and a line at `time`: open copies printed up to `time`.
  const placeBefore = (cpu: CpuCopies, time: number) => {
    const handled = cpu.previous?.handled;
    for (let i = cpu.open; i < cpu.copies.length && cpu.copies[i].time <= time; i++) {
      const copy = cpu.copies[i];
      if (handled && handled.irq === copy.irq) copy.candidates.push(handled.ordinal);
    }
    while (cpu.open < cpu.copies.length && cpu.copies[cpu.open].time < time) cpu.open++;
  };
  const line = (text: string) => {
    const context = contextOf(text);
    if (context === null) return;
    const exit = / irq_handler_exit: irq=(-?\d+) ret=(handled|unhandled)$/.exec(text);
    const ordinal = exits.length;
    if (exit) {
      const head = text.slice(0, exit.index + " irq_handler_exit: ".length);
      const printed = exit[2] as CopiedExit["printed"];
      exits.push({ head, irq: Number(exit[1]), printed, copy: "none" });
    }
    const cpu = byCpu.get(context.cpu);
    if (cpu === undefined) return;
    placeBefore(cpu, context.time);
    cpu.previous = {
      time: context.time,
      handled: exit?.[2] === "handled" ? { ordinal, irq: Number(exit[1]) } : null,
    };
  };
  const runs = new LineRuns();
  const lines = (bytes: Buffer) => {
    for (const text of bytes.toString("latin1").split("\n")) if (text !== "") line(text);
  };
  for await (const chunk of main) lines(runs.push(chunk));
  lines(runs.end());
  for (const [cpuNumber, cpu] of byCpu) {
    // After the CPU's last main line, where the lines its main buffer lost would be.
    if (losses.main.has(cpuNumber)) {
      for (const copy of cpu.copies.slice(cpu.open)) copy.pastLoss = true;
    }
    placeBefore(cpu, Number.POSITIVE_INFINITY);
  }
  settle(exits, byCpu);
  markLosses(exits, byCpu, losses);
  return exits;
}

/** Gives each copy its exit when it has exactly one; exits claimed twice or maybe are unknown. */
function settle(exits: CopiedExit[], byCpu: Map<number, CpuCopies>) {
  for (const cpu of byCpu.values()) {
    for (const { candidates, pastLoss } of cpu.copies) {
      if (candidates.length === 1 && !pastLoss && exits[candidates[0]].copy === "none") {
        exits[candidates[0]].copy = "copied";
      } else {
        for (const ordinal of candidates) exits[ordinal].copy = "unknown";
      }
    }
  }
}

/** Exits the copy buffer cannot speak for: after its last copy on a CPU where it was full. */
function markLosses(exits: CopiedExit[], byCpu: Map<number, CpuCopies>, losses: Losses) {
  const lastCopy = new Map<number, number>();
  for (const cpu of losses.copy) {
    const copies = byCpu.get(cpu)?.copies ?? [];
    lastCopy.set(cpu, copies.length > 0 ? copies[copies.length - 1].time : -1);
  }
  if (lastCopy.size === 0) return;
  for (const exit of exits) {
    const context = contextOf(exit.head);
    if (context === null || exit.printed !== "handled" || exit.copy !== "none") continue;
    const last = lastCopy.get(context.cpu);
    if (last !== undefined && context.time > last) exit.copy = "unknown";
  }
}

/** The numbers for IrqReturnWriter: 0 unhandled, 2 copied, 1 handled without copy, else null. */
export function returnsOfCopiedExits(exits: readonly CopiedExit[]): IrqReturn[] {
  return exits.map(({ head, printed, copy }) => ({
    head,
    ret: printed === "unhandled" ? 0 : copy === "copied" ? 2 : copy === "none" ? 1 : null,
  }));
}

const lostCpus = (stats: Map<number, BufferStats>) =>
  new Set([...stats].filter(([, s]) => s.dropped + s.overrun > 0).map(([cpu]) => cpu));

/**
 * The recorder's second instance: irq_handler_exit where `filter` (tests choose another). Create it after the main
 * instance's events are enabled (its probe must run second), resume it before the main one
 * and freeze it after, so that it covers the main recording.
 */
export class IrqExitCopies {
  private constructor(readonly instance: TracefsInstance) {}

  resume(): void {
    this.instance.resume();
  }

  freeze(): void {
    this.instance.freeze();
  }

  remove(): void {
    this.instance.remove();
  }

  static create(bufferKiB: number, filter = WAKE_THREAD_FILTER): IrqExitCopies {
    // Like the main instance, it keeps the oldest events: what it loses is a suffix.
    const instance = TracefsInstance.create({ purpose: "irqwake", bufferKiB, overwrite: false });
    try {
      instance.setEventFilter(EXIT_EVENT, filter);
      instance.enableEvents([EXIT_EVENT]);
    } catch (error) {
      instance.remove();
      throw error;
    }
    return new IrqExitCopies(instance);
  }

  /** The frozen main instance's exits, matched with the frozen copies. */
  async match(main: TracefsInstance): Promise<CopiedExit[]> {
    return matchCopiedExits(
      createReadStream(main.tracePath),
      createReadStream(this.instance.tracePath),
      {
        main: lostCpus(main.bufferStatsByCpu()),
        copy: lostCpus(this.instance.bufferStatsByCpu()),
      },
    );
  }
}
