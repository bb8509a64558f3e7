// Frame tests of the shell with ink-testing-library: exact frames for what a user sees
// while typing a tracker, fixing an error, watching hits and the histogram, completing.

import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { App } from "../../src/repl/App.tsx";
import { COMMAND_NAMES } from "../../src/repl/commands.ts";
import type { Vocabulary } from "../../src/repl/completion.ts";
import { ShellController } from "../../src/repl/controller.ts";
import { FakeSession, fakeFrontEnd } from "./fake-session.ts";
import {
  BACKSPACE,
  CTRL_C,
  CTRL_D,
  ENTER,
  nextFrame,
  PAGE_DOWN,
  plain,
  press,
  TAB,
  UP,
  waitForFrame,
} from "./ink-helpers.ts";

const vocabulary: Vocabulary = {
  commands: COMMAND_NAMES,
  keywords: ["where", "then"],
  probes: () => ["sched_wakeup", "sched_waking", "sched_switch"],
  fields: () => ["pid", "prio"],
  trackers: () => ["wakeup"],
  targets: ["ebpf", "kmod", "plan"],
  files: () => [],
};

function setup(size = { columns: 81, rows: 24 }) {
  let session: FakeSession | undefined;
  const files = new Map<string, string>();
  const controller = new ShellController({
    backend: "replay demo.txt",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener) => {
      session = new FakeSession(listener, "live eBPF");
      return session;
    },
    io: {
      readFile: (path) => {
        const text = files.get(path);
        if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
        return text;
      },
      writeFile: (path, text) => files.set(path, text),
    },
  });
  const quits: number[] = [];
  const app = render(
    <App
      controller={controller}
      vocabulary={vocabulary}
      onQuit={() => quits.push(1)}
      size={size}
      timers={false}
    />,
  );
  return { app, controller, files, quits, session: () => session as FakeSession };
}

const STATUS = "replay demo.txt │ 00:00 │ 0 pairs/s │ 0 hits/s │ 0 dropped";

test("the first frame: an empty table, the status line and the prompt", () => {
  const { app } = setup();
  assert.is(
    plain(app.lastFrame()),
    ["no trackers yet: type a `track ...` line, or :help", STATUS, "ltsh>"].join("\n"),
  );
  app.unmount();
});

test("a bad line shows the error with a caret and keeps the text; fixing it starts the tracker", async () => {
  const { app, session } = setup();
  await press(app, "track wakeup: sched_wakup(pid) -> sched_switch(next_pid) > 200us");
  const error = await press(app, ENTER).then(() => waitForFrame(app, (f) => f.includes("error")));
  assert.is(
    error,
    [
      "no trackers yet: type a `track ...` line, or :help",
      "<prompt>:1:15: error: unknown tracepoint 'sched_wakup'",
      "  track wakeup: sched_wakup(pid) -> sched_switch(next_pid) > 200us",
      "                ^^^^^^^^^^^",
      STATUS,
      "ltsh> track wakeup: sched_wakup(pid) -> sched_switch(next_pid) > 200us",
    ].join("\n"),
  );
  // Fix the typo in place: move left to it and insert the missing letter.
  const left = "\u001B[D".repeat("up(pid) -> sched_switch(next_pid) > 200us".length);
  await press(app, left);
  await press(app, "e");
  const started = await press(app, ENTER).then(() =>
    waitForFrame(app, (f) => f.includes("started")),
  );
  assert.is(
    started,
    [
      "ltsh> track wakeup: sched_wakeup(pid) -> sched_switch(next_pid) > 200us",
      "started wakeup",
      "  NAME   PROBES                >THR  PAIRS  HITS  T/O DROP    P50    P99    MAX",
      "▸ wakeup sched_wakeup→switch  200us      0     0    0    0      -      -      -",
      "wakeup: no completed pairs yet",
      STATUS,
      "ltsh>",
    ].join("\n"),
  );
  assert.equal(session().calls, ["add wakeup"]);
  app.unmount();
});

test("hits are printed above the panels; the table and the histogram follow the counters", async () => {
  const { app, controller, session } = setup();
  await press(app, "track wakeup: sched_wakeup(pid) -> sched_switch(pid) > 200us");
  await press(app, ENTER).then(() => waitForFrame(app, (f) => f.includes("started")));
  for (const ns of [1000, 1010, 1500, 3000, 312_400]) session().pair("wakeup", ns);
  const frame = nextFrame(app);
  controller.flush();
  controller.poll();
  await frame;
  const lines = plain(app.lastFrame()).split("\n");
  assert.equal(lines.slice(2), [
    "1.001000000 wakeup 312us key=42 worker-42 cpu1 -> worker-42 cpu1",
    "  NAME   PROBES                >THR  PAIRS  HITS  T/O DROP    P50    P99    MAX",
    "▸ wakeup sched_wakeup→switch  200us      5     1    0    0 2.05us  312us  312us",
    "wakeup: 5 pairs  p50 2.05us  p99 312us  max 312us",
    "   (512ns, 1.02us] 2 |████████████████████████████████████████|",
    "  (1.02us, 2.05us] 1 |████████████████████                    |",
    "   (2.05us, 4.1us] 1 |████████████████████                    |",
    "    (262us, 524us] 1 |████████████████████                    |",
    "replay demo.txt │ 00:00 │ 0 pairs/s │ 0 hits/s │ 0 dropped",
    "ltsh>",
  ]);
  app.unmount();
});

test("Tab completes commands and lists ambiguous choices; up recalls history", async () => {
  const { app } = setup();
  await press(app, ":h");
  let frame = await press(app, TAB);
  assert.is(frame.split("\n").at(-1), "ltsh> :h");
  assert.ok(frame.includes(":help  :hist"), frame);
  await press(app, "e");
  frame = await press(app, TAB);
  assert.is(frame.split("\n").at(-1), "ltsh> :help");
  frame = await press(app, ENTER).then(() =>
    waitForFrame(app, (f) => f.includes("Type a tracker")),
  );
  assert.ok(frame.includes(":save FILE.lt"), frame);
  frame = await press(app, UP);
  assert.is(frame.split("\n").at(-1), "ltsh> :help");
  app.unmount();
});

test(":save writes a file that the front end accepts, with the tracker named", async () => {
  const { app, files } = setup();
  await press(app, "track sched_wakeup(pid) -> sched_switch(pid) > 1ms");
  await press(app, ENTER).then(() => waitForFrame(app, (f) => f.includes("started")));
  await press(app, ":save out.lt");
  await press(app, ENTER).then(() => waitForFrame(app, (f) => f.includes("saved 1 trackers")));
  const saved = files.get("out.lt") ?? "";
  assert.match(saved, /^# Saved by the ltsh shell/);
  assert.match(
    saved,
    /\ntrack sched_wakeup_to_sched_switch: sched_wakeup\(pid\) -> sched_switch\(pid\) > 1ms\n$/,
  );
  assert.ok(fakeFrontEnd.checkFile(saved, "out.lt", []).ok);
  app.unmount();
});

test(":load, :list, :stop, :start, :rm, :emit plan, :hist and mistakes, as a user sees them", async () => {
  const { app, files, session } = setup();
  files.set(
    "two.lt",
    "track a: sched_wakeup(pid) -> sched_switch(pid) > 1ms\ntrack b: irq_handler_entry(irq) -> irq_handler_exit(irq)\n",
  );
  // Waits for `expect` to appear once more than before: earlier output may hold it too.
  const run = async (line: string, expect: string) => {
    const seen = plain(app.lastFrame()).split(expect).length;
    await press(app, line);
    return press(app, ENTER).then(() => waitForFrame(app, (f) => f.split(expect).length > seen));
  };
  await run(":load two.lt", "loaded two.lt: 2 trackers");
  assert.equal(session().calls, ["add a", "add b"]);
  let frame = await run(":list", "b (running");
  assert.match(
    frame,
    /\na \(running, 0 pairs, 0 hits\): track a: sched_wakeup\(pid\) -> sched_switch\(pid\) >…\n/,
  );
  frame = await run(":stop a", "stopped a");
  assert.match(frame, /\n {2}a +\(stopped\) sched_wak/);
  frame = await run(":start a", "started a");
  assert.equal(session().calls.slice(2), ["stop a", "remove a", "add a"]);
  frame = await run(":hist a", "showing a's histogram");
  assert.match(frame, /\n▸ a /);
  frame = await press(app, PAGE_DOWN);
  assert.match(frame, /\n▸ b /);
  assert.match(frame, /\nb: no completed pairs yet\n/);
  frame = await run(":emit b plan", '"name": "b"');
  assert.match(frame, /\n {2}"thresholdNs": null,\n/);
  frame = await run(":rm b", "removed b");
  assert.not.match(frame.slice(frame.indexOf("  NAME")), /\n[ ▸] b /);
  frame = await run(":load two.lt", "duplicate tracker name");
  assert.match(frame, /\ntwo\.lt:1:7: error: duplicate tracker name 'a'\n/);
  assert.is(frame.split("\n").at(-1), "ltsh> :load two.lt");
  await press(app, "\u0015");
  frame = await run(":nope", "unknown command");
  assert.match(frame, /error: unknown command :nope \(:help lists them\)/);
  await press(app, "\u0015");
  frame = await run("hello", "a line is a");
  await press(app, "\u0015");
  frame = await run(":stop zz", "no tracker named zz");
  assert.match(frame, /error: no tracker named zz \(trackers: a\)/);
  app.unmount();
});

test("Ctrl-C clears the line, twice on an empty line quits; Ctrl-D quits", async () => {
  const first = setup();
  await press(first.app, "abc");
  let frame = await press(first.app, CTRL_C);
  assert.is(frame.split("\n").at(-1), "ltsh>");
  frame = await press(first.app, CTRL_C);
  assert.ok(frame.includes("press Ctrl-C again"), frame);
  first.app.stdin.write(CTRL_C);
  assert.equal(first.quits, [1]);
  first.app.unmount();
  const second = setup();
  await press(second.app, "x");
  await press(second.app, BACKSPACE);
  second.app.stdin.write(CTRL_D);
  assert.equal(second.quits, [1]);
  second.app.unmount();
});

test("80x24: every line fits 79 columns and the panels leave room for the feed", async () => {
  const { app, controller, session } = setup({ columns: 80, rows: 24 });
  await press(
    app,
    "track a_very_long_tracker_name_indeed: sched_wakeup(pid) -> sched_switch(pid) > 1us",
  );
  await press(app, ENTER).then(() => waitForFrame(app, (f) => f.includes("started")));
  for (let i = 0; i < 40; i++) session().pair("a_very_long_tracker_name_indeed", 2 ** (i % 30) + 1);
  controller.flush();
  controller.poll();
  await press(app, "x".repeat(200));
  const frame = plain(app.lastFrame());
  for (const line of frame.split("\n")) assert.ok([...line].length <= 79, `too wide: ${line}`);
  const panels = frame.slice(frame.indexOf("  NAME")).split("\n");
  assert.ok(panels.length <= 20, `panels take ${panels.length} rows`);
  assert.match(panels.at(-1) ?? "", /^ltsh> …x+$/, frame);
  app.unmount();
});

test.run();
