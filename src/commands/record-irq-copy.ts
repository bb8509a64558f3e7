// irq_handler_exit's return value on kernels whose tracefs has no `fields` option (before
// 6.4: Debian's 6.1 PREEMPT_RT, where threaded IRQs are the rule). Instances of the
// recorder's own record only irq_handler_exit under an event filter: ltsh-<pid>-irqwake
// `ret == 2`, a copy of exactly the exits that woke their thread, and ltsh-<pid>-irqnone
// `ret == 0`. Each copy is matched to its exit line in the main buffer, which gets the
// copy's number; an exit no copy matched is 1 (IRQ_HANDLED). The copies of IRQ_NONE are
// not redundant with the printed word: Debian's 6.1.192 RT, with hash-ptr off, prints the
// first %s of an event empty (`irq=25 ret=`, `sched_waking: comm= pid=15`); the recorder
// keeps hash-ptr on before 6.4 for that (src/kernel/tracefs.ts), but a trace may come from
// elsewhere.
//
// Matching: the instances' probes run for one event, the copies' right after the main's
// (registered later: tracepoint probes of one priority run in that order), with IRQs off,
// so no other event of that CPU comes between them. A copy therefore sits in its CPU's main
// sequence right after its own exit. Its timestamp is a little later (0 to 5 µs on this
// project's VM: two probes apart, a vCPU can be descheduled), but printed in µs, so a
// copy's place is known up to the main lines of its CPU printed with its very timestamp.
// It is matched when exactly one place there is an exit of its irq whose printed word (if
// any) agrees; a line two copies claim, or one of several a copy may be, stays as printed
// (and the replay says what that costs). Where a buffer lost events (full), the lines it
// cannot speak for stay as printed too.
//
// `fields` is exact and needs no second buffer, so the recorder prefers it (record.ts).

import { createReadStream } from "node:fs";
import { type BufferStats, TracefsInstance } from "../kernel/tracefs.ts";
import { forEachExit, type IrqReturn, LineRuns } from "./record-irq-return.ts";

/** One copy instance: the exits returning `ret`, recorded as ltsh-<pid>-<purpose>. */
export interface CopyKind {
  ret: number;
  purpose: string;
}

/** The recorder's copies: IRQ_WAKE_THREAD, for the IRQ tail, and IRQ_NONE. */
export const COPY_KINDS: readonly CopyKind[] = [
  { ret: 2, purpose: "irqwake" },
  { ret: 0, purpose: "irqnone" },
];
const EXIT_EVENT = "irq:irq_handler_exit";

/** One irq_handler_exit line of the main buffer, and what the copies say about it. */
export interface CopiedExit {
  /** The line up to the payload, as IrqReturn's head. */
  head: string;
  irq: number;
  /** The word printed for ret: "handled", "unhandled", or "" where the kernel printed none. */
  printed: string;
  /** The number of the copy matched; none: no copy is its; unknown: it cannot be told. */
  copy: number | "none" | "unknown";
}

/** The CPU and timestamp of a tracefs line (timestamp as an integer of its printed digits). */
const CONTEXT = / \[(\d+)\] (?:\S+ +)?(\d+)\.(\d+): /;

function contextOf(line: string): { cpu: number; time: number } | null {
  const m = CONTEXT.exec(line);
  return m ? { cpu: Number(m[1]), time: Number(m[2] + m[3]) } : null;
}

/** Whether an exit printed `word` may have returned `ret`. */
const agrees = (word: string, ret: number) => word === "" || (word === "unhandled") === (ret === 0);

/** One copy of an exit: where it was recorded, its number, and the main exits it may be. */
interface Copy {
  time: number;
  irq: number;
  ret: number;
  /** Ordinals (among the main exits) of the exits at the places the copy may sit. */
  candidates: number[];
  /** It may sit after the main lines lost on its CPU: its candidates cannot be told. */
  pastLoss: boolean;
}

/** Per CPU: its copies in time order (those before `open` placed), and the last main line. */
interface CpuCopies {
  copies: Copy[];
  open: number;
  previous: { time: number; exit: number | null } | null;
}

/** What each buffer lost (it was full), as CPU numbers. */
export interface Losses {
  /** The main buffer's: an exit its last copies may be is unknown. */
  main: ReadonlySet<number>;
  /** Each copy kind's (by ret): the main exits after its last copy on the CPU are unknown. */
  copies: ReadonlyMap<number, ReadonlySet<number>>;
}

/** The copy instances' texts: their copies per CPU, in time order. */
async function copiesOf(
  texts: readonly { ret: number; chunks: AsyncIterable<Buffer> }[],
): Promise<Map<number, CpuCopies>> {
  const byCpu = new Map<number, CpuCopies>();
  for (const { ret, chunks } of texts) {
    const collect = (bytes: Buffer) =>
      forEachExit(bytes, (head, payload) => {
        const context = contextOf(head);
        const irq = /^irq=(-?\d+) /.exec(payload);
        if (context === null || irq === null) return;
        const cpu = byCpu.get(context.cpu) ?? { copies: [], open: 0, previous: null };
        byCpu.set(context.cpu, cpu);
        const copy = { time: context.time, irq: Number(irq[1]), ret, pastLoss: false };
        cpu.copies.push({ ...copy, candidates: [] });
      });
    const runs = new LineRuns();
    for await (const chunk of chunks) collect(runs.push(chunk));
    collect(runs.end());
  }
  for (const cpu of byCpu.values()) cpu.copies.sort((a, b) => a.time - b.time);
  return byCpu;
}

/**
 * The main buffer's irq_handler_exit lines, each with the copy (from the copy instances'
 * texts) that is its own; see the file comment for the rule.
 */
export async function matchCopiedExits(
  main: AsyncIterable<Buffer>,
  copies: readonly { ret: number; chunks: AsyncIterable<Buffer> }[],
  losses: Losses,
): Promise<CopiedExit[]> {
  const byCpu = await copiesOf(copies);
  const exits: CopiedExit[] = [];
  // The place between `previous` and a line at `time`: open copies printed up to `time`.
  const placeBefore = (cpu: CpuCopies, time: number) => {
    const ordinal = cpu.previous?.exit ?? null;
    const exit = ordinal === null ? null : exits[ordinal];
    for (let i = cpu.open; i < cpu.copies.length && cpu.copies[i].time <= time; i++) {
      const copy = cpu.copies[i];
      if (ordinal !== null && exit?.irq === copy.irq && agrees(exit.printed, copy.ret)) {
        copy.candidates.push(ordinal);
      }
    }
    while (cpu.open < cpu.copies.length && cpu.copies[cpu.open].time < time) cpu.open++;
  };
  const line = (text: string) => {
    const context = contextOf(text);
    if (context === null) return;
    const exit = / irq_handler_exit: irq=(-?\d+) ret=(handled|unhandled|)$/.exec(text);
    if (exit) {
      const head = text.slice(0, exit.index + " irq_handler_exit: ".length);
      exits.push({ head, irq: Number(exit[1]), printed: exit[2], copy: "none" });
    }
    const cpu = byCpu.get(context.cpu);
    if (cpu === undefined) return;
    placeBefore(cpu, context.time);
    cpu.previous = { time: context.time, exit: exit ? exits.length - 1 : null };
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
    for (const { candidates, pastLoss, ret } of cpu.copies) {
      if (candidates.length === 1 && !pastLoss && exits[candidates[0]].copy === "none") {
        exits[candidates[0]].copy = ret;
      } else {
        for (const ordinal of candidates) exits[ordinal].copy = "unknown";
      }
    }
  }
}

/** Exits a full copy buffer cannot speak for: after its last copy on that CPU. */
function markLosses(exits: CopiedExit[], byCpu: Map<number, CpuCopies>, losses: Losses) {
  for (const [ret, cpus] of losses.copies) {
    for (const cpuNumber of cpus) {
      const times = (byCpu.get(cpuNumber)?.copies ?? []).filter((c) => c.ret === ret);
      const last = times.length > 0 ? times[times.length - 1].time : -1;
      for (const exit of exits) {
        const context = contextOf(exit.head);
        if (exit.copy !== "none" || !agrees(exit.printed, ret)) continue;
        if (context?.cpu === cpuNumber && context.time > last) exit.copy = "unknown";
      }
    }
  }
}

/**
 * The numbers for IrqReturnWriter: a copy's, else what is left once the copies of `kinds`
 * are ruled out (the printed word says the rest), else null (left as printed).
 */
export function returnsOfCopiedExits(
  exits: readonly CopiedExit[],
  kinds: readonly CopyKind[] = COPY_KINDS,
): IrqReturn[] {
  const copied = new Set(kinds.map((k) => k.ret));
  const uncopied = (printed: string) =>
    printed === "unhandled"
      ? 0
      : printed === "handled" || (copied.has(0) && copied.has(2))
        ? 1
        : null;
  return exits.map(({ head, printed, copy }) => ({
    head,
    ret: typeof copy === "number" ? copy : copy === "none" ? uncopied(printed) : null,
  }));
}

const lostCpus = (stats: Map<number, BufferStats>) =>
  new Set([...stats].filter(([, s]) => s.dropped + s.overrun > 0).map(([cpu]) => cpu));

/**
 * The recorder's copy instances, one per kind (tests choose others). Create them after the
 * main instance's events are enabled (their probes must run after its), resume them before
 * the main one and freeze them after, so that they cover the main recording.
 */
export class IrqExitCopies {
  private constructor(
    readonly kinds: readonly CopyKind[],
    readonly instances: TracefsInstance[],
  ) {}

  static create(bufferKiB: number, kinds: readonly CopyKind[] = COPY_KINDS): IrqExitCopies {
    const copies = new IrqExitCopies(kinds, []);
    try {
      for (const { ret, purpose } of kinds) {
        // Like the main instance, it keeps the oldest events: what it loses is a suffix.
        const instance = TracefsInstance.create({ purpose, bufferKiB, overwrite: false });
        copies.instances.push(instance);
        instance.setEventFilter(EXIT_EVENT, `ret == ${ret}`);
        instance.enableEvents([EXIT_EVENT]);
      }
    } catch (error) {
      copies.remove();
      throw error;
    }
    return copies;
  }

  resume(): void {
    for (const instance of this.instances) instance.resume();
  }

  freeze(): void {
    for (const instance of this.instances) instance.freeze();
  }

  remove(): void {
    for (const instance of this.instances) instance.remove();
  }

  /** The frozen main instance's exits, matched with the frozen copies. */
  async match(main: TracefsInstance): Promise<CopiedExit[]> {
    const texts = this.kinds.map(({ ret }, i) => ({
      ret,
      chunks: createReadStream(this.instances[i].tracePath),
    }));
    const copies = new Map(
      this.kinds.map(({ ret }, i) => [ret, lostCpus(this.instances[i].bufferStatsByCpu())]),
    );
    return matchCopiedExits(createReadStream(main.tracePath), texts, {
      main: lostCpus(main.bufferStatsByCpu()),
      copies,
    });
  }

  /** The numbers for IrqReturnWriter, from match(). */
  returns(exits: readonly CopiedExit[]): IrqReturn[] {
    return returnsOfCopiedExits(exits, this.kinds);
  }
}
