// The timeline drawn as rows of styled text, cut to the terminal: a title, a time ruler, the
// hit's span, then two rows per CPU (the tasks that ran, by name, in a colour per task; IRQs,
// softirqs, the keyed task's wakeup W and switch-in R, a chain hit's links 0 1 2 …), a
// legend, the event under the cursor and the keys. Pure: the view only turns segments into <Text>.

import { formatDuration, formatKey } from "../records/output.ts";
import { isIdle, type Timeline } from "./timeline-model.ts";
import type { TimelineState } from "./timeline-state.ts";

export interface Segment {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}
export type Row = Segment[];

type Cell = { ch: string } & Omit<Segment, "text">;

/** Width of the "cpu12 " column before the plot. */
const LABEL_WIDTH = 6;
const PALETTE = [
  "cyan",
  "green",
  "yellow",
  "blue",
  "magenta",
  "redBright",
  "cyanBright",
  "greenBright",
  "yellowBright",
  "blueBright",
  "magentaBright",
  "white",
];
/** Rows besides the CPUs': title, ruler, span, legend, marks, event (2), keys. */
const FIXED_ROWS = 8;
export const TIMELINE_KEYS = "←→ pan  +- zoom  n/p event  g/G first/last  f fit hit  a all  q back";

/** A task's colour, the same wherever and whenever it is drawn (a hash of its name and tid). */
export function taskColor(comm: string, tid: number): string {
  let hash = 2166136261;
  for (const ch of `${comm}-${tid}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length];
}

/** "+1.12ms" / "-250us" / "+0" relative to the hit's begin (or the snapshot's start). */
function relative(ns: number, zero: number): string {
  const delta = Math.round(ns - zero);
  if (delta === 0) return "+0";
  return `${delta < 0 ? "-" : "+"}${formatDuration(Math.abs(delta))}`;
}

/**
 * The screen's rows. `among`: in the shell, which of the kept hits this is — the title says
 * "hit 3/5" and the keys line adds `[ ]`.
 */
export function timelineRows(
  state: TimelineState,
  columns: number,
  rows: number,
  among?: { index: number; count: number },
): Row[] {
  const { timeline } = state;
  const width = Math.max(20, columns);
  const plot = new Plot(state.fromNs, state.toNs, width - LABEL_WIDTH);
  const zero = timeline.span?.fromNs ?? 0;
  const marks = marksRows(timeline, zero, width);
  const cpuRoom = Math.max(1, Math.floor((rows - FIXED_ROWS - (marks.length - 1)) / 2));
  const shownCpus = timeline.cpus.slice(0, cpuRoom);
  const place = among && among.count > 1 ? `  hit ${among.index + 1}/${among.count}` : "";
  const keys = place === "" ? TIMELINE_KEYS : `${TIMELINE_KEYS}  [ ] older/newer hit`;
  const out: Row[] = [
    [{ text: `${titleText(timeline)}${place}`, bold: true }],
    [{ text: " ".repeat(LABEL_WIDTH) + rulerText(plot, zero) }],
    spanRow(timeline, plot),
  ];
  for (const cpu of shownCpus) out.push(...cpuRows(state, plot, cpu));
  out.push(legendRow(state, timeline.cpus.length - shownCpus.length));
  out.push(...marks);
  out.push(...eventRows(state, zero, width));
  out.push([{ text: keys, dim: true }]);
  return out.map((row) => fitRow(row, width));
}

/** Column arithmetic for the visible range. */
class Plot {
  constructor(
    readonly fromNs: number,
    readonly toNs: number,
    readonly width: number,
  ) {}
  column(ns: number): number {
    return Math.floor(((ns - this.fromNs) / (this.toNs - this.fromNs)) * this.width);
  }
  /**
   * Columns [start, end) covered by [fromNs, toNs], at least one when it is in view; with
   * `inclusive` the column of toNs too (the span's ']' sits on its end event's column).
   */
  columns(fromNs: number, toNs: number, inclusive = false): [number, number] | null {
    if (toNs < this.fromNs || fromNs > this.toNs) return null;
    const start = Math.max(0, this.column(fromNs));
    const last = this.column(toNs) + (inclusive ? 1 : 0);
    const end = Math.min(this.width, Math.max(start + 1, last));
    return start < this.width ? [start, end] : null;
  }
  blank(): Cell[] {
    return Array.from({ length: this.width }, () => ({ ch: " " }));
  }
}

function titleText(timeline: Timeline): string {
  const file = timeline.path.split("/").pop();
  const note = timeline.note;
  if (note === null) return `${file}: no ltsh hit in its header; the whole window is shown`;
  const { hit } = note;
  // the task as the window shows it; else as the hit named it (its events, or /proc)
  const named = hit.key_comm ? ` (${hit.key_comm})` : "";
  const task = timeline.task ? ` (${timeline.task.comm}-${timeline.task.tid})` : named;
  const what = hit.chain ? `${hit.chain.length - 1} links` : `key=${formatKey(hit.key)}${task}`;
  return `${hit.tracker} ${hit.kind} hit ${formatDuration(hit.latency_ns)}  ${what}  ${file}`;
}

/** Tick marks at a round step, labelled relative to the hit's begin. */
function rulerText(plot: Plot, zero: number): string {
  const cells = plot.blank().map((cell) => cell.ch);
  const range = plot.toNs - plot.fromNs;
  const step = niceStep((range * 14) / plot.width);
  let tick = Math.ceil((plot.fromNs - zero) / step) * step + zero;
  for (; tick <= plot.toNs; tick += step) {
    const at = plot.column(tick);
    const label = `|${relative(tick, zero)}`;
    if (at + label.length > plot.width) break;
    for (let i = 0; i < label.length; i++) cells[at + i] = label[i];
  }
  return cells.join("");
}

function niceStep(minimum: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(minimum, 1)));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= minimum) return factor * power;
  return 10 * power;
}

/** `[──── wakeup 1.11ms ────]` over the hit's begin-to-end columns. */
function spanRow(timeline: Timeline, plot: Plot): Row {
  const span = timeline.span;
  const label = " ".repeat(LABEL_WIDTH);
  if (span === null) return [{ text: label }];
  const cells = plot.blank();
  const columns = plot.columns(span.fromNs, span.toNs, true);
  if (columns === null) {
    const side = span.toNs < plot.fromNs ? "◀ hit" : "hit ▶";
    return [
      { text: label },
      { text: side.padStart(span.toNs < plot.fromNs ? 0 : plot.width), color: "yellow" },
    ];
  }
  const [start, end] = columns;
  for (let i = start; i < end; i++) cells[i] = { ch: "─", color: "yellow", bold: true };
  if (span.fromNs >= plot.fromNs) cells[start] = { ch: "[", color: "yellow", bold: true };
  if (span.toNs <= plot.toNs) cells[end - 1] = { ch: "]", color: "yellow", bold: true };
  const note = timeline.note;
  const text = note ? ` ${note.hit.tracker} ${formatDuration(note.hit.latency_ns)} ` : " hit ";
  writeText(
    cells,
    start + Math.max(1, Math.floor((end - start - text.length) / 2)),
    text,
    end - 1,
    {
      color: "yellow",
      bold: true,
    },
  );
  return [{ text: label }, ...segmentsOf(cells)];
}

/** The CPU's tasks row and its IRQ/softirq row with the keyed task's marks and the cursor. */
function cpuRows(state: TimelineState, plot: Plot, cpu: number): Row[] {
  const { timeline } = state;
  const tasks = plot.blank();
  for (const run of timeline.runs) {
    if (run.cpu !== cpu) continue;
    const columns = plot.columns(run.fromNs, run.toNs);
    if (columns === null) continue;
    const [start, end] = columns;
    if (isIdle(run.tid)) {
      for (let i = start; i < end; i++) tasks[i] = { ch: "·", dim: true };
      continue;
    }
    const style = { color: taskColor(run.comm, run.tid), bold: run.tid === timeline.task?.tid };
    const width = end - start;
    // Too short for a name: a block in the task's colour; else the name, cut with "…".
    for (let i = start; i < end; i++) tasks[i] = { ch: width < 3 ? "▌" : "─", ...style };
    const name = `${run.comm}-${run.tid}`;
    if (width >= 3) {
      writeText(
        tasks,
        start,
        name.length < width ? name : `${name.slice(0, width - 1)}…`,
        end,
        style,
      );
    }
  }
  const irqs = plot.blank();
  for (const kind of ["softirq", "irq"] as const) {
    for (const irq of timeline.irqs) {
      if (irq.cpu !== cpu || irq.kind !== kind) continue;
      const columns = plot.columns(irq.fromNs, irq.toNs);
      if (columns === null) continue;
      const style = { color: kind === "irq" ? "red" : "magenta" };
      for (let i = columns[0]; i < columns[1]; i++)
        irqs[i] = { ch: kind === "irq" ? "H" : "S", ...style };
      const label = kind === "irq" ? `irq ${irq.label}` : irq.label;
      if (columns[1] - columns[0] > label.length)
        writeText(irqs, columns[0] + 1, label, columns[1], style);
    }
  }
  for (const mark of timeline.marks) {
    const at = plot.column(mark.ns);
    if (mark.cpu !== cpu || at < 0 || at >= plot.width) continue;
    const wakeup = mark.kind === "wakeup";
    irqs[at] = { ch: wakeup ? "W" : "R", color: wakeup ? "yellow" : "green", bold: true };
  }
  const linked = new Set<number>();
  timeline.links.forEach((link, i) => {
    let at = plot.column(link.ns);
    if (link.cpu !== cpu || at < 0 || at >= plot.width) return;
    // links a column apart or less (a raise and its origin) stand side by side, in order
    while (linked.has(at) && at + 1 < plot.width) at++;
    linked.add(at);
    irqs[at] = { ch: linkSymbol(i), color: "cyanBright", bold: true };
  });
  const cursor = state.cursor === null ? null : timeline.events[state.cursor];
  if (cursor && cursor.cpu === cpu) {
    const at = plot.column(cursor.ns);
    if (at >= 0 && at < plot.width) {
      irqs[at] = { ...irqs[at], ch: irqs[at].ch === " " ? "^" : irqs[at].ch, inverse: true };
    }
  }
  const label = `cpu${cpu}`.padEnd(LABEL_WIDTH);
  return [
    [{ text: label, bold: true }, ...segmentsOf(tasks)],
    [{ text: " ".repeat(LABEL_WIDTH) }, ...segmentsOf(irqs)],
  ];
}

function writeText(cells: Cell[], at: number, text: string, end: number, style: Omit<Cell, "ch">) {
  for (let i = 0; i < text.length && at + i < end && at + i < cells.length; i++) {
    cells[at + i] = { ch: text[i], ...style };
  }
}

/** The tasks that ran in view, each in its colour; the keyed task first. */
function legendRow(state: TimelineState, hiddenCpus: number): Row {
  const { timeline } = state;
  const seen = new Map<string, { comm: string; tid: number }>();
  for (const run of timeline.runs) {
    if (isIdle(run.tid) || run.toNs < state.fromNs || run.fromNs > state.toNs) continue;
    seen.set(`${run.comm}-${run.tid}`, run);
  }
  const keyed = timeline.task?.tid;
  const tasks = [...seen.values()].sort(
    (a, b) => Number(b.tid === keyed) - Number(a.tid === keyed),
  );
  const row: Row = [{ text: "tasks ", dim: true }];
  for (const { comm, tid } of tasks) {
    row.push({ text: "■ ", color: taskColor(comm, tid) });
    row.push({ text: `${comm}-${tid}${tid === keyed ? "*" : ""}  `, bold: tid === keyed });
  }
  if (hiddenCpus > 0) row.push({ text: `(+${hiddenCpus} CPUs below the screen)`, dim: true });
  return row;
}

/** A chain link's mark: 0-9, then a-z (a hit keeps at most 64 stages: they wrap). */
function linkSymbol(index: number): string {
  const symbols = "0123456789abcdefghijklmnopqrstuvwxyz";
  return symbols[index % symbols.length];
}

/** What the marks mean: a chain's links (on two rows at most), or the keyed task's marks. */
function marksRows(timeline: Timeline, zero: number, width: number): Row[] {
  if (timeline.links.length === 0) return [marksRow(timeline, zero)];
  const texts = timeline.links.map(
    (link, i) => `${linkSymbol(i)} ${link.text} ${relative(link.ns, zero)}`,
  );
  const rows: string[] = [""];
  for (const text of [...texts, "H irq  S softirq"]) {
    const last = rows[rows.length - 1];
    if (last !== "" && last.length + 2 + text.length > width && rows.length < 2) rows.push(text);
    else rows[rows.length - 1] = last === "" ? text : `${last}  ${text}`;
  }
  return rows.map((text) => [{ text, dim: true }]);
}

function marksRow(timeline: Timeline, zero: number): Row {
  if (timeline.task === null) return [{ text: "H irq  S softirq", dim: true }];
  const name = `${timeline.task.comm}-${timeline.task.tid}`;
  const parts = timeline.marks.map((mark) =>
    mark.kind === "wakeup"
      ? `W wakeup of ${name} on cpu${mark.cpu} at ${relative(mark.ns, zero)}`
      : `R ${name} switched in on cpu${mark.cpu} at ${relative(mark.ns, zero)}`,
  );
  if (parts.length === 0) parts.push(`no wakeup of ${name} in the snapshot`);
  return [{ text: `${parts.join("  ")}  H irq  S softirq`, dim: true }];
}

/** The event under the cursor: its place, time and CPU, then its line as the trace has it. */
function eventRows(state: TimelineState, zero: number, width: number): Row[] {
  const { events } = state.timeline;
  if (state.cursor === null) return [[{ text: "(no events)" }], []];
  const event = events[state.cursor];
  const where = `event ${state.cursor + 1}/${events.length}  ${relative(event.ns, zero)}  cpu${event.cpu}  line ${event.lineNo}`;
  const line = event.line;
  return [
    [{ text: where, bold: true }],
    [{ text: line.length > width ? `${line.slice(0, width - 1)}…` : line }],
  ];
}

/** Adjacent cells of one style become one segment. */
function segmentsOf(cells: Cell[]): Segment[] {
  const segments: Segment[] = [];
  for (const { ch, ...style } of cells) {
    const last = segments.at(-1);
    if (last && sameStyle(last, style)) last.text += ch;
    else segments.push({ text: ch, ...style });
  }
  return segments;
}

function sameStyle(a: Segment, b: Omit<Segment, "text">): boolean {
  return a.color === b.color && a.bold === b.bold && a.dim === b.dim && a.inverse === b.inverse;
}

/** A row cut to the width (segments after the edge dropped, the last one shortened). */
function fitRow(row: Row, width: number): Row {
  const out: Row = [];
  let used = 0;
  for (const segment of row) {
    if (used >= width) break;
    const text = segment.text.slice(0, width - used);
    out.push({ ...segment, text });
    used += text.length;
  }
  return out;
}

/** The rows as plain text (for `ltsh show` without a terminal, and tests). */
export function plainRows(rows: Row[]): string {
  return rows
    .map((row) =>
      row
        .map((s) => s.text)
        .join("")
        .trimEnd(),
    )
    .join("\n");
}
