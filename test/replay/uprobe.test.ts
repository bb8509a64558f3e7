// Replay of user-space probes from the lines uprobe_events prints: the interpreter listens
// to the recorder's event name of every site, reads `argN=` (signed or not, as the note
// types it), `retval=` after a uretprobe's `(func <- caller)`, `argN_str="…"` (unquoted;
// `(fault)` reads as the empty string, as live); in `perf script` output the event's
// category is its uprobe_events group (`ltsh_<pid>`), which does not stop the match.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatHitLine } from "../../src/records/output.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { parsePerfLine } from "../../src/replay/formats.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";
import { buildWorkload } from "../uprobe/workload.ts";
import { compileTrackers, ftrace, runLines } from "./support.ts";

const P = buildWorkload().pie;

function eventNames(source: string): string[][] {
  return compileTrackers(source).flatMap((t) =>
    [...t.begins, ...t.ends].map((s) => s.probe.user!.sites.map((site) => site.recorderEvent)),
  );
}

test("uprobe → uretprobe: arguments and retval from the line, several sites of one probe", async () => {
  const source = `track add: uprobe:${P}:lt_add($tid) where arg1 == 100 -> uretprobe:${P}:lt_add($tid) where retval == 105 > 1us
track tick: usdt:${P}:tick(arg0) -> usdt:${P}:tick(arg0)`;
  const [[entry], [exit], [tick0, tick1]] = eventNames(source);
  const lines = [
    ftrace(
      "10.000001",
      0,
      "w-7",
      entry,
      "(0x5569cea4b3d0) arg0=5 arg1=100 arg2=0 arg3=0 arg4=0 arg5=0",
    ),
    ftrace("10.000004", 0, "w-7", exit, "(0x5569cea4b4c0 <- 0x5569cea4b3d0) retval=105"),
    ftrace(
      "10.000005",
      0,
      "w-7",
      entry,
      "(0x5569cea4b3d0) arg0=6 arg1=99 arg2=0 arg3=0 arg4=0 arg5=0",
    ),
    ftrace("10.000009", 0, "w-7", exit, "(0x5569cea4b4c0 <- 0x5569cea4b3d0) retval=105"),
    ftrace("10.000010", 0, "w-7", tick0, "(0x5569cea4b450) arg0=3"),
    ftrace("10.000012", 0, "w-7", tick1, "(0x5569cea4b460) arg0=3"),
  ];
  const { summaries, hits } = await runLines(compileTrackers(source), lines);
  assert.equal(
    summaries.map((s) => [s.tracker, s.pairs, s.hits, s.pending]),
    [
      ["add", 1, 1, 0],
      ["tick", 1, 0, 1], // the second site's event closes the first's, then begins again
    ],
  );
  assert.is(hits[0].latency_ns, 3000);
});

test("USDT signed arguments; str() quoted, with spaces, and faulted", async () => {
  const source = `track w: usdt:${P}:registers(arg1) -> usdt:${P}:widths(arg2) > 1ns
track g: uprobe:${P}:lt_greet(str(arg0)) where str(arg0) != "skip" -> uretprobe:${P}:lt_greet(str(retval)) > 1ns`;
  const [[registers], [widths], [greet], [greetRet]] = eventNames(source);
  const lines = [
    ftrace("1.000001", 1, "w-7", registers, "(0x1400) arg0=2 arg1=-1"),
    ftrace("1.000002", 1, "w-7", widths, "(0x1427) arg0=201 arg1=-3 arg2=-1"),
    ftrace("1.000003", 1, "w-7", greet, '(0x13e0) arg0=94 arg0_str="two words"'),
    ftrace("1.000004", 1, "w-7", greetRet, '(0x13e0 <- 0x1500) retval=77 retval_str="two words"'),
    ftrace("1.000005", 1, "w-7", greet, "(0x13e0) arg0=0 arg0_str=(fault)"),
    ftrace("1.000006", 1, "w-7", greetRet, "(0x13e0 <- 0x1500) retval=0 retval_str=(fault)"),
  ];
  const { summaries, hits } = await runLines(compileTrackers(source), lines);
  assert.equal(
    summaries.map((s) => [s.tracker, s.pairs]),
    [
      ["w", 1],
      ["g", 2],
    ],
  );
  assert.equal(
    hits.map(
      (h) =>
        `${h.tracker} ${JSON.stringify(h.key, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`,
    ),
    ['w ["-1n"]', 'g ["two words"]', 'g [""]'],
  );
});

test("perf script: the uprobe_events group in the category position", () => {
  const source = `track add: uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid) > 1us`;
  const [[entry], [exit]] = eventNames(source);
  const interpreter = new Interpreter({ hit: () => {}, warning: () => {} });
  for (const t of compileTrackers(source)) interpreter.add(t);
  for (const line of [
    `workload-pie  7 [000] 10.000001: ltsh_4242:${entry}: (5569cea4b3d0) arg0=5 arg1=100 arg2=0 arg3=0 arg4=0 arg5=0`,
    `workload-pie  7 [000] 10.000009: ltsh_4242:${exit}: (5569cea4b4c0 <- 5569cea4b3d0) retval=105`,
  ]) {
    const event = parsePerfLine(line, 1);
    if (event === null || typeof event === "string") throw new Error(String(event));
    interpreter.feed(event);
  }
  interpreter.finish("perf.txt");
  assert.equal(
    interpreter.summaries().map((s) => [s.pairs, s.hits]),
    [[1, 1]],
  );
});

test("chains: USDT probes as origin, target and `->` hand-off, mixed with tracepoints", async () => {
  // the workload's hand_off(): work__begin on the main thread (tid 7), whose write wakes the
  // worker (tid 8), which fires work__end with the same cookie, then writes back
  const source = `track ctx: usdt:${P}:work__begin ~> usdt:${P}:work__end > 1ns
track key: usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0) ~> sys_enter_write > 1ns`;
  const [[begin], [end]] = eventNames(source.split("\n")[0]);
  const task = (ts: string, tid: number, event: string, payload: string) =>
    ftrace(ts, 0, `workload-${tid}`, event, payload, 7);
  const lines = [
    task("5.000001", 7, begin, "(0x1500) arg0=12648449"),
    task("5.000002", 7, "sys_enter_write", "fd: 0x4, buf: 0x7ffd, count: 0x8"),
    task("5.000003", 7, "sched_waking", "comm=workload pid=8 prio=120 target_cpu=000"),
    task(
      "5.000004",
      7,
      "sched_switch",
      "prev_comm=workload prev_pid=7 prev_prio=120 prev_state=S ==> next_comm=workload next_pid=8 next_prio=120",
    ),
    task("5.000006", 8, end, "(0x1600) arg0=12648449"),
    task("5.000009", 8, "sys_enter_write", "fd: 0x7, buf: 0x7ffe, count: 0x8"),
  ];
  const { summaries, hits } = await runLines(compileTrackers(source), lines);
  assert.equal(
    summaries.map((s) => [s.tracker, s.pairs, s.broken]),
    [
      ["ctx", 1, 0],
      ["key", 1, 0],
    ],
  );
  const shape = (h: HitRecord) =>
    `${h.tracker} ${h.latency_ns} ${h.chain!.map((s) => `${s.stage}:${s.tid}`).join(" ")}`;
  assert.equal(hits.map(shape), [
    "ctx 5000 origin:7 waking:8 run:8 target:8",
    "key 8000 origin:7 waypoint:8 target:8",
  ]);
  assert.is(hits[0].chain![3].probe, `usdt:${P}:ltsh:work__end`);
  // a hit line names a user-space stage by its probe, as a tracepoint's
  assert.is(
    formatHitLine(hits[1]),
    "5.000009000 key 8us work__begin workload cpu0 +5us work__end workload-8 +3us sys_enter_write workload-8",
  );
});

test.run();
