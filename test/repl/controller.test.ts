// The controller without rendering: hits batched and capped per flush (the rest counted,
// never silently lost), `set` before any tracker reopening the session with the option,
// rows marking what the user stopped, and a backend failure keeping the line.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { OptionValue } from "../../src/compiler/plan.ts";
import {
  FEED_LINES_PER_FLUSH,
  hitLines,
  ShellController,
  STACK_FRAMES_SHOWN,
} from "../../src/repl/controller.ts";
import type { Action } from "../../src/repl/state.ts";
import { FakeSession, fakeFrontEnd } from "./fake-session.ts";

function setup() {
  const sessions: { session: FakeSession; options: Record<string, OptionValue> }[] = [];
  const controller = new ShellController({
    backend: "fake",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener, options) => {
      const session = new FakeSession(listener);
      sessions.push({ session, options });
      return session;
    },
  });
  const actions: Action[] = [];
  controller.attach((action) => actions.push(action), false);
  return { controller, sessions, actions, last: () => sessions.at(-1)!.session };
}

test("hits are printed in one block per flush, at most FEED_LINES_PER_FLUSH, the rest counted", async () => {
  const { controller, actions, last } = setup();
  await controller.submit("track w: sched_wakeup(pid) -> sched_switch(pid) > 1us");
  actions.length = 0;
  for (let i = 0; i < FEED_LINES_PER_FLUSH + 30; i++) last().pair("w", 5000);
  controller.flush();
  const prints = actions.filter((a) => a.type === "print");
  assert.is(prints.length, 1);
  const print = prints[0] as Extract<Action, { type: "print" }>;
  assert.is(print.lines.length, FEED_LINES_PER_FLUSH + 1);
  assert.is(
    print.lines.at(-1),
    "… and 30 more hits in the last 100ms (not echoed; counted in the table)",
  );
  controller.poll();
  const stats = actions.at(-1) as Extract<Action, { type: "stats" }>;
  assert.is(stats.status.feedSkipped, 30);
  assert.is(stats.trackers[0].summary.hits, FEED_LINES_PER_FLUSH + 30);
  actions.length = 0;
  controller.flush();
  assert.equal(actions, [], "nothing more to print");
});

test("a hit with a kernel stack shows its top frames under it", () => {
  const session = new FakeSession({ hit() {}, warning() {} });
  const hit = {
    ...session.hit("w", 5000),
    stack: Array.from({ length: 8 }, (_, i) => `frame_${i}+0x10`),
  };
  const lines = hitLines(hit);
  assert.is(lines.length, 1 + STACK_FRAMES_SHOWN + 1);
  assert.is(lines[1], "    frame_0+0x10");
  assert.is(lines.at(-1), "    … 2 more frames");
  assert.equal(hitLines({ ...hit, stack: null }).length, 1);
});

test("a set line before any tracker reopens the session with the option", async () => {
  const { controller, sessions } = setup();
  await controller.open();
  const outcome = await controller.submit("set snapshot.dir = /tmp/snaps");
  assert.ok(outcome.ok);
  if (outcome.ok) assert.equal(outcome.output, ['snapshot.dir = "/tmp/snaps"']);
  assert.ok(sessions[0].session.closed);
  await controller.submit("track w: sched_wakeup(pid) -> sched_switch(pid)");
  assert.is(sessions.length, 2);
  assert.is(sessions[1].options["snapshot.dir"], "/tmp/snaps");
  const later = await controller.submit("set snapshot.dir = /elsewhere");
  assert.ok(later.ok && later.output[0].includes("kept for :save"));
  assert.is(sessions.length, 2);
  assert.match(
    controller.statements.saved("#"),
    /^#\n\nset snapshot\.dir = \/elsewhere\n\ntrack w: /,
  );
});

test("rows: a tracker the user stopped is marked; a backend refusal keeps the line as an error", async () => {
  const { controller, last } = setup();
  await controller.submit("track w: sched_wakeup(pid) -> sched_switch(pid)");
  await controller.submit(":stop w");
  assert.is(controller.rows(last().stats())[0].state, "stopped");
  last().failAdd = "x";
  const refused = await controller.submit("track x: sched_wakeup(pid) -> sched_switch(pid)");
  assert.equal(refused, {
    ok: false,
    error: "error: cannot start x: operation not permitted (run as root)",
  });
  assert.equal(controller.statements.names(), ["w"]);
});

test("a replay refuses a removed tracker's name with a reason (the line stays to rename it)", async () => {
  const controller = new ShellController({
    backend: "replay t.txt",
    frontEnd: fakeFrontEnd,
    openSession: async (listener) => new FakeSession(listener, "replay t.txt"),
  });
  await controller.submit("track w: sched_wakeup(pid) -> sched_switch(pid)");
  await controller.submit(":rm w");
  const again = await controller.submit("track w: sched_wakeup(pid) -> sched_switch(pid)");
  assert.equal(again, {
    ok: false,
    error:
      "error: cannot start w: a replay cannot reuse the name of a removed tracker: name it otherwise",
  });
  assert.ok((await controller.submit("track w2: sched_wakeup(pid) -> sched_switch(pid)")).ok);
});

test.run();
