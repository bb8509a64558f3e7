// The snapshot timeline (`ltsh show`, `:show`): the model read from a snapshot the live
// recorder wrote (fixtures/wakeup-snapshot.txt: tsc-16143 woken on cpu1 by tsc-16146 in a
// BLOCK softirq right after IRQ 36, switched in 1.11 ms later), the reducer's zoom, pan and
// steps with no rendering, and the frame at 100x30 as a user reads it.

import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TimelineApp } from "../../src/repl/TimelineApp.tsx";
import { plainRows, taskColor, timelineRows } from "../../src/repl/timeline-format.ts";
import { loadTimeline, type Timeline } from "../../src/repl/timeline-model.ts";
import {
  initialTimelineState,
  MIN_RANGE_NS,
  type TimelineState,
  timelineReducer,
} from "../../src/repl/timeline-state.ts";
import { plain, press, waitForFrame } from "./ink-helpers.ts";

const FIXTURE = new URL("./fixtures/wakeup-snapshot.txt", import.meta.url).pathname;
const timeline: Timeline = await loadTimeline(FIXTURE);
/** Timeline time of an absolute "704.560146" timestamp of the fixture. */
const at = (seconds: string) =>
  Number(BigInt(seconds.replace(".", "")) * 1000n - timeline.originNs);

test("model: the hit's span is the markers' times; the markers are not events", () => {
  assert.equal(timeline.span, { fromNs: at("704.560146"), toNs: at("704.561269") });
  assert.is(timeline.note?.hit.tracker, "wakeup");
  assert.equal(timeline.task, { tid: 16143, pid: 16135, comm: "tsc" });
  assert.is(timeline.events.length, 26);
  assert.not.ok(timeline.events.some((e) => e.name === "tracing_mark_write"));
  assert.equal(timeline.cpus, [0, 1]);
});

test("model: tasks per CPU from sched_switch, IRQ and softirq intervals, wakeup and switch-in", () => {
  const cpu1 = timeline.runs.filter((r) => r.cpu === 1).map((r) => `${r.comm}-${r.tid}`);
  assert.equal(cpu1, [
    "tsc-16143",
    "kworker/1:1H-44",
    "tsc-16146",
    "tsc-16142",
    "tsc-16143",
    "MainThread-15719",
  ]);
  const wakerRun = timeline.runs.find((r) => r.tid === 16146);
  assert.equal([wakerRun?.fromNs, wakerRun?.toNs], [at("704.560095"), at("704.561245")]);
  assert.equal(
    timeline.irqs.map((i) => [i.cpu, i.kind, i.label]),
    [
      [0, "softirq", "RCU"],
      [1, "softirq", "SCHED"],
      [1, "irq", "36 virtio1-req.0"],
      [1, "softirq", "BLOCK"],
    ],
  );
  const irq = timeline.irqs[2];
  assert.equal([irq.fromNs, irq.toNs], [at("704.560133"), at("704.560138")]);
  assert.equal(
    timeline.marks.map((m) => [m.kind, m.cpu, m.ns]),
    [
      ["wakeup", 1, at("704.560146")],
      ["switch-in", 1, at("704.561269")],
    ],
  );
});

test("model and frame: x86 vectors (local_timer, an IPI) are IRQ intervals named by vector", async () => {
  const vectors = await loadTimeline(
    new URL("./fixtures/vector-snapshot.txt", import.meta.url).pathname,
  );
  const ms = (n: number) => n * 1_000_000;
  assert.equal(
    vectors.irqs.map((i) => [i.cpu, i.kind, i.label, i.fromNs, i.toNs]),
    [
      [1, "irq", "reschedule", 0, 0],
      [1, "irq", "local_timer", 90_000, ms(10) + 90_000],
    ],
  );
  const frame = plainRows(timelineRows(initialTimelineState(vectors), 100, 20));
  assert.match(frame, /\n {6}H*irq local_timerH+/, "cpu1's IRQ row is the 10 ms vector");
});

// ------------------------------------------------------------ reducer

const start = initialTimelineState(timeline);
const run = (state: TimelineState, ...types: string[]) =>
  types.reduce((s, type) => timelineReducer(s, { type } as never), state);
const width = (s: TimelineState) => s.toNs - s.fromNs;

test("reducer: opens on the span with context, the cursor on the keyed task's wakeup", () => {
  // The span (1.123 ms) with half of it on each side is wider than the snapshot: all of it.
  assert.equal([start.fromNs, start.toNs], [0, timeline.endNs]);
  assert.is(timeline.events[start.cursor!].line.includes("sched_wakeup: comm=tsc pid=16143"), true);
});

test("reducer: zoom in halves the range and keeps the cursor's event where it was on screen", () => {
  const cursorNs = timeline.events[start.cursor!].ns;
  const share = (s: TimelineState) => (cursorNs - s.fromNs) / width(s);
  const zoomed = run(start, "zoomIn");
  assert.is(width(zoomed), width(start) / 2);
  assert.ok(Math.abs(share(zoomed) - share(start)) < 1e-9);
  const deep = run(start, ...Array(20).fill("zoomIn"));
  assert.is(width(deep), MIN_RANGE_NS, "zoom stops at the narrowest range");
  assert.equal(run(zoomed, "zoomOut"), { ...start }, "zoom out undoes zoom in");
  assert.equal(run(start, "zoomOut"), start, "never wider than the snapshot");
});

test("reducer: pan moves a quarter of the width and stops at the snapshot's edges", () => {
  const zoomed = run(start, "zoomIn", "zoomIn");
  const right = run(zoomed, "panRight");
  assert.is(right.fromNs - zoomed.fromNs, width(zoomed) / 4);
  assert.is(width(right), width(zoomed));
  const far = run(zoomed, ...Array(20).fill("panRight"));
  assert.is(far.toNs, timeline.endNs);
  const back = run(far, ...Array(20).fill("panLeft"));
  assert.is(back.fromNs, 0);
});

test("reducer: steps from event to event; a step off screen centres the view on the event", () => {
  const next = run(start, "nextEvent");
  assert.is(next.cursor, start.cursor! + 1);
  assert.is(run(next, "prevEvent").cursor, start.cursor);
  assert.is(run(start, "firstEvent", "prevEvent").cursor, 0, "no step before the first");
  const last = run(start, "lastEvent", "nextEvent");
  assert.is(last.cursor, timeline.events.length - 1);
  const narrow = run(start, ...Array(6).fill("zoomIn"));
  const stepped = run(narrow, "lastEvent");
  const ns = timeline.events[stepped.cursor!].ns;
  assert.ok(ns >= stepped.fromNs && ns <= stepped.toNs, "the last event is on screen");
  assert.is(width(stepped), width(narrow));
  assert.equal(run(stepped, "fitHit"), { ...stepped, fromNs: start.fromNs, toNs: start.toNs });
});

// ------------------------------------------------------------ frame

test("frame at 100x30: CPU rows with task names, the marked span, IRQ, softirq, W and R", async () => {
  let quit = 0;
  const app = render(
    <TimelineApp timeline={timeline} onQuit={() => quit++} size={{ columns: 101, rows: 31 }} />,
  );
  const frame = plain(app.lastFrame());
  const lines = frame.split("\n");
  assert.ok(lines.length <= 30, `${lines.length} rows`);
  assert.ok(Math.max(...lines.map((l) => [...l].length)) <= 100);
  assert.is(lines[0], "wakeup threshold hit 1.11ms  key=16143 (tsc-16143)  wakeup-snapshot.txt");
  const cpu0 = lines.findIndex((l) => l.startsWith("cpu0 "));
  const cpu1 = lines.findIndex((l) => l.startsWith("cpu1 "));
  assert.ok(cpu0 > 0 && cpu1 === cpu0 + 2, frame);
  assert.match(lines[cpu0], /perl-15603─+$/);
  assert.match(lines[cpu1], /tsc-16146─+.*MainThread-15719─+$/);
  // The span: '[' under the ruler's +0, ']' where the keyed task is switched in (R).
  const span = lines[2];
  const open = span.indexOf("[");
  const close = span.indexOf("]");
  assert.match(span, /\[─+ wakeup 1\.11ms ─+\]/);
  assert.is(lines[1].indexOf("|+0"), open);
  const marks = lines[cpu1 + 1];
  assert.is(marks.indexOf("W"), open, "the wakeup at the span's begin");
  assert.is(marks.indexOf("R"), close, "the switch-in at its end");
  assert.match(marks, /S\s*H+W?/, "the softirq and IRQ before the wakeup");
  assert.match(frame, /tasks ■ tsc-16143\* +■ perl-15603/);
  assert.match(
    frame,
    /W wakeup of tsc-16143 on cpu1 at \+0 {2}R tsc-16143 switched in on cpu1 at \+1\.12ms/,
  );
  assert.match(
    frame,
    /event 17\/26 {2}\+0 {2}cpu1 {2}line 32\ntsc-16146 .* sched_wakeup: comm=tsc pid=16143/,
  );

  let next = await press(app, "n");
  assert.match(next, /event 18\/26 {2}\+5us {2}cpu1/);
  assert.match(next, /softirq_exit: vec=4 \[action=BLOCK\]/);
  next = await press(app, "+");
  assert.match(next.split("\n")[1], /\|\+0 +\|\+200us/, "zoomed in: a finer ruler");
  app.stdin.write("q");
  await waitForFrame(app, () => quit === 1);
  assert.is(quit, 1);
  app.unmount();
});

test("keys typed fast arrive together: each one counts, and q stops the rest", async () => {
  let quit = 0;
  const app = render(
    <TimelineApp timeline={timeline} onQuit={() => quit++} size={{ columns: 101, rows: 31 }} />,
  );
  assert.match(await press(app, "nnn"), /event 20\/26/);
  app.stdin.write("pqn");
  await waitForFrame(app, () => quit === 1);
  assert.match(plain(app.lastFrame()), /event 19\/26/, "the n after q is not acted on");
  app.unmount();
});

test("a task has one colour: in its runs, in the legend, at any zoom", () => {
  const colourOf = (state: TimelineState, text: string) =>
    timelineRows(state, 100, 30)
      .flat()
      .filter((segment) => segment.text.includes(text))
      .map((segment) => segment.color);
  const waker = taskColor("tsc", 16146);
  assert.equal(colourOf(start, "tsc-16146─"), [waker], "its run on cpu1");
  const rows = timelineRows(start, 100, 30);
  const legend = rows.find((row) => row[0]?.text === "tasks ") ?? [];
  const at = legend.findIndex((segment) => segment.text.startsWith("tsc-16146"));
  assert.equal([legend[at - 1]?.text, legend[at - 1]?.color], ["■ ", waker], "its legend swatch");
  assert.equal(colourOf(run(start, "zoomIn", "zoomIn"), "tsc-16146─"), [waker], "zoomed in");
  assert.is(taskColor("tsc", 16146), waker, "the same on every call");
});

test("a keyed task the window does not show: the title names it as the hit did", () => {
  const hit = { ...timeline.note!.hit, key_comm: "worker" };
  const unseen: Timeline = { ...timeline, note: { hit, task: null }, task: null, marks: [] };
  const title = plainRows(timelineRows(initialTimelineState(unseen), 100, 30)).split("\n")[0];
  assert.is(title, "wakeup threshold hit 1.11ms  key=16143 (worker)  wakeup-snapshot.txt");
});

test("a trace without ltsh's header: the whole window, no span, still readable", () => {
  const bare: Timeline = { ...timeline, note: null, span: null, task: null, marks: [] };
  const text = plainRows(timelineRows(initialTimelineState(bare), 100, 30));
  assert.match(text, /^wakeup-snapshot\.txt: no ltsh hit in its header; the whole window is shown/);
  assert.match(text, /\ncpu1 /);
  assert.not.match(text, /\[─/);
});

test.run();
