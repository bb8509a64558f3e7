// `ltsh record`: records tracepoints through a tracefs instance of its own (mono clock,
// sized buffer that keeps the oldest events, tgids, raw pointers) and writes ftrace text
// that `ltsh run --replay` reads. With --for-file, the file's user-space probes are
// recorded through uprobe_events entries of its own. The instance and the entries are
// removed afterwards, also on Ctrl-C. irq_handler_exit lines carry their numeric ret, which
// the chains' IRQ tail needs: through the instance's `fields` option (record-irq-return.ts)
// or, on kernels before 6.4, other instances' copies of the exits (record-irq-copy.ts).

import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import type { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { compileFile } from "../compiler/compile.ts";
import { chainContextEvents } from "../compiler/contexts.ts";
import { renderDiagnostics } from "../compiler/render.ts";
import { recorderEventsOf } from "../compiler/uprobe/recorder-plan.ts";
import { TracefsError, TracefsInstance } from "../kernel/tracefs.ts";
import { type UprobeEventSpec, UprobeEvents } from "../kernel/uprobe-events.ts";
import { procComm } from "../session/task-names.ts";
import { loadCatalogOrReport } from "./check.ts";
import { IrqExitCopies } from "./record-irq-copy.ts";
import { type IrqReturn, IrqReturnWriter, readIrqReturns } from "./record-irq-return.ts";
import { TaskNameWriter, taskHistories } from "./record-names.ts";
import { parseDurationArg } from "./run.ts";
import { type Command, parseCommandArgs, UsageError } from "./usage.ts";

const DEFAULT_BUFFER_KIB = 32 * 1024;

function parseSizeKiB(text: string): number {
  const m = /^(\d+)(K|KiB|M|MiB|G|GiB)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--buffer expects a size per CPU such as 64MiB, not '${text}'`);
  const unit = (m[2] ?? "KiB")[0].toUpperCase();
  return Number(m[1]) * (unit === "G" ? 1024 * 1024 : unit === "M" ? 1024 : 1);
}

interface Requested {
  /** Tracepoints: categories, category:name or bare names. */
  events: string[];
  /** uprobe_events entries to define, then record. */
  uprobes: UprobeEventSpec[];
}

/** A task's forks and renames (an exec renames it): the events that name its lines exactly. */
const NAMING_EVENTS = ["sched:sched_process_fork", "task:task_rename"];

/**
 * The events a file's trackers need: every probe they name (begins, ends, cancels, chain
 * steps) and, for chains, the context events that carry a chain (those this kernel has).
 */
function eventsOfFile(path: string, catalogPath: string | undefined): Requested | null {
  const catalog = loadCatalogOrReport(catalogPath);
  if (!catalog) return null;
  // Recorded to be replayed: any tracker the language accepts is recorded for.
  const { plan, diagnostics, text } = compileFile(path, { catalog, backend: "any" });
  process.stderr.write(renderDiagnostics(diagnostics, text));
  if (!plan) return null;
  const probes = plan.trackers.flatMap((t) => [
    ...[...t.begins, ...t.ends, ...(t.cancels ?? [])].map((side) => side.probe),
    ...(t.chain?.steps.map((step) => step.side.probe) ?? []),
  ]);
  const ids = probes.filter((p) => p.user === undefined).map((p) => p.id);
  if (plan.trackers.some((t) => t.chain)) {
    ids.push(...chainContextEvents().filter((id) => catalog.find(id).ok));
  }
  // so that each line is named as its task was when the event fired (record-names.ts)
  ids.push(...NAMING_EVENTS.filter((id) => catalog.find(id).ok));
  const uprobes = recorderEventsOf(plan);
  if (!uprobes.ok) {
    process.stderr.write(`ltsh record: error: ${uprobes.message}\n`);
    return null;
  }
  for (const what of uprobes.value.unreadable) {
    process.stderr.write(`ltsh record: warning: not recorded: ${what}\n`);
  }
  return { events: [...new Set(ids)], uprobes: uprobes.value.specs };
}

export const recordCommand: Command = {
  name: "record",
  help: `Usage: ltsh record -o TRACE (--events LIST | --for-file FILE.lt)
                   [--for DURATION] [--buffer SIZE] [-- COMMAND ARGS...]

Records through a tracefs instance of its own (ltsh-<pid>-record; trace_clock
mono, record-tgid on, hash-ptr off from Linux 6.4) and writes its ftrace text to TRACE
(gzip when TRACE ends in .gz; "-" for stdout). Recording stops after
--for, when COMMAND exits, or on Ctrl-C; the instance is always removed.
irq_handler_exit's ret is written as the handler's number (0, 1, 2), not
as handled/unhandled: 2 (IRQ_WAKE_THREAD) is how a chain follows an IRQ to
its thread (before Linux 6.4, through instances ltsh-<pid>-irqwake and
-irqnone that record the exits returning 2 and 0). Needs root (or write access to tracefs).

Options:
  -o, --output TRACE  where to write the trace
  --events LIST       comma-separated: categories (sched), category:name
                      (irq:irq_handler_entry) or bare names (sched_switch)
  --for-file FILE.lt  the events FILE.lt's trackers need, and forks and
                      renames: a task that execs is named as it was then
  --for DURATION      how long to record (10s, 500ms, 2m)
  --buffer SIZE       ring buffer per CPU (default 32MiB); when full, newer
                      events are dropped and the count is reported
  --catalog FILE      tracepoint catalog for --for-file
  -h, --help          show this help
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      output: { type: "string", short: "o" },
      events: { type: "string" },
      "for-file": { type: "string" },
      for: { type: "string" },
      buffer: { type: "string" },
      catalog: { type: "string" },
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (values.output === undefined) throw new UsageError("-o TRACE is required");
    if ((values.events === undefined) === (values["for-file"] === undefined)) {
      throw new UsageError("give either --events LIST or --for-file FILE.lt");
    }
    const forMs = values.for === undefined ? null : parseDurationArg(values.for, "--for");
    if (forMs === null && positionals.length === 0) {
      throw new UsageError("say when to stop: --for DURATION or -- COMMAND");
    }
    const bufferKiB =
      values.buffer === undefined ? DEFAULT_BUFFER_KIB : parseSizeKiB(values.buffer);
    const requested: Requested | null = values.events
      ? {
          events: values.events
            .split(",")
            .map((e) => e.trim())
            .filter(Boolean),
          uprobes: [],
        }
      : eventsOfFile(values["for-file"]!, values.catalog);
    if (requested === null) return 1;
    let uprobes: UprobeEvents | null = null;
    try {
      uprobes = requested.uprobes.length > 0 ? UprobeEvents.create(requested.uprobes) : null;
      const events = [...requested.events, ...(uprobes?.ids ?? [])];
      return await record(values.output, events, bufferKiB, forMs, positionals);
    } catch (error) {
      if (!(error instanceof TracefsError)) throw error;
      process.stderr.write(`ltsh record: error: ${error.message}\n`);
      return 1;
    } finally {
      // After record() removed its instance: an enabled event cannot be deleted.
      uprobes?.remove();
    }
  },
};

async function record(
  output: string,
  requested: string[],
  bufferKiB: number,
  forMs: number | null,
  command: string[],
) {
  const instance = TracefsInstance.create({ purpose: "record", bufferKiB, overwrite: false });
  let copies: IrqExitCopies | null = null;
  try {
    const { events, unknown } = instance.resolveEvents(requested);
    if (unknown.length > 0) {
      process.stderr.write(
        `ltsh record: error: unknown events: ${unknown.join(", ")} (see ltsh events)\n`,
      );
      return 1;
    }
    instance.enableEvents(events);
    // After enableEvents: the copies' probe must run after the main instance's.
    if (events.includes("irq:irq_handler_exit")) copies = irqExitCopiesFor(instance, bufferKiB);
    copies?.resume();
    instance.resume();
    const exitCode = await waitForEnd(forMs, command);
    instance.freeze();
    copies?.freeze();
    const stats = instance.bufferStats();
    const renames = NAMING_EVENTS.every((id) => events.includes(id));
    await writeTrace(instance, output, events.includes("irq:irq_handler_exit"), copies, renames);
    process.stderr.write(
      `ltsh record: ${stats.entries} events (${events.length} event type${events.length === 1 ? "" : "s"}) written to ${output}\n`,
    );
    if (stats.dropped + stats.overrun > 0) {
      process.stderr.write(
        `ltsh record: warning: ${stats.dropped + stats.overrun} events lost: the buffer was full (raise --buffer)\n`,
      );
    }
    return exitCode;
  } finally {
    copies?.remove();
    instance.remove();
  }
}

/**
 * The copy instances of IRQ_WAKE_THREAD and IRQ_NONE exits where the main one has no
 * `fields` option (record-irq-copy.ts); null where it has: `fields` is exact and needs no
 * other buffer. LTSH_RECORD_IRQ_COPIES=1 takes the copies anyway, to test them on a kernel
 * that has it. Each gets an eighth of the main buffer: a copy is one exit of at least four
 * events an IRQ records (entry, exit, and the waking and switch of what it woke), and the
 * smallest of them.
 */
function irqExitCopiesFor(instance: TracefsInstance, bufferKiB: number): IrqExitCopies | null {
  if (instance.hasOption("fields") && process.env.LTSH_RECORD_IRQ_COPIES !== "1") return null;
  return IrqExitCopies.create(Math.max(256, Math.ceil(bufferKiB / 8)));
}

/**
 * Writes the frozen instance's text to `output` (gzip for .gz); with `irqExits`, the
 * irq_handler_exit lines carry their numeric ret: from the `fields` option
 * (record-irq-return.ts) or, with `copies`, from them (record-irq-copy.ts); with `renames`
 * (forks and renames recorded), renamed tasks' lines are named as they were then.
 */
async function writeTrace(
  instance: TracefsInstance,
  output: string,
  irqExits: boolean,
  copies: IrqExitCopies | null,
  renames: boolean,
) {
  const returns = irqExits ? await irqReturnsOf(instance, copies) : null;
  const writer = returns === null ? null : new IrqReturnWriter(returns);
  const histories = renames ? await taskHistories(createReadStream(instance.tracePath)) : undefined;
  const names = new TaskNameWriter(procComm, histories);
  const sink: Writable = output === "-" ? process.stdout : createWriteStream(output);
  const stages: (Readable | Transform | Writable)[] = [
    createReadStream(instance.tracePath),
    ...(writer ? [writer] : []),
    names,
    ...(output.endsWith(".gz") ? [createGzip()] : []),
    sink,
  ];
  await pipeline(stages);
  if (names.unnamed > 0) {
    process.stderr.write(
      `ltsh record: warning: ${names.unnamed} line${names.unnamed === 1 ? "" : "s"} of tasks that neither the trace nor /proc names are left as <...> (their comm does not match a filter in a replay)\n`,
    );
  }
  if (writer?.mismatch) {
    process.stderr.write(
      `ltsh record: warning: irq_handler_exit's ret left as printed from '${writer.mismatch.trim()}' on (the buffer read differently the second time)\n`,
    );
  }
}

/** The numbers of the frozen main instance's exits; what could not be told is said. */
async function irqReturnsOf(
  instance: TracefsInstance,
  copies: IrqExitCopies | null,
): Promise<IrqReturn[] | null> {
  const returns = copies
    ? copies.returns(await copies.match(instance))
    : await readIrqReturns(instance);
  const unknown = returns?.filter((r) => r.ret === null).length ?? 0;
  if (unknown > 0) {
    process.stderr.write(
      `ltsh record: warning: ${unknown} irq_handler_exit line${unknown === 1 ? "" : "s"} left as printed: its ret cannot be told from the copies (exits of one irq in the same µs, or a full buffer)\n`,
    );
  }
  return returns;
}

/** Resolves with 0 after --for or Ctrl-C, or with the command's status when it exits. */
function waitForEnd(forMs: number | null, command: string[]): Promise<number> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      clearTimeout(timer);
      process.removeListener("SIGINT", onSigint);
      resolve(code);
    };
    const onSigint = () => finish(0);
    process.on("SIGINT", onSigint);
    if (forMs !== null) timer = setTimeout(() => finish(0), forMs);
    if (command.length > 0) {
      const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
      child.on("error", (error) => {
        process.stderr.write(
          `ltsh record: error: ${command[0]}: ${(error as NodeJS.ErrnoException).code}\n`,
        );
        finish(1);
      });
      child.on("exit", (code) => finish(code ?? 1));
    }
  });
}
