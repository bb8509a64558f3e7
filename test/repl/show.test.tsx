// :show in the shell: the controller keeps each tracker's last hits; :show opens the newest
// one with a snapshot as the timeline, which takes the keys until q brings the prompt back;
// with no snapshot to show, it says so and why.

import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { App } from "../../src/repl/App.tsx";
import { COMMAND_NAMES } from "../../src/repl/commands.ts";
import { RECENT_HITS, ShellController } from "../../src/repl/controller.ts";
import { initialState, reducer } from "../../src/repl/state.ts";
import { loadTimeline } from "../../src/repl/timeline-model.ts";
import { FakeSession, fakeFrontEnd } from "./fake-session.ts";
import { ENTER, ESCAPE, press, SHIFT_DOWN, SHIFT_UP, waitForFrame } from "./ink-helpers.ts";

const FIXTURE = new URL("./fixtures/wakeup-snapshot.txt", import.meta.url).pathname;
const SECOND = new URL("./fixtures/wakeup-snapshot-2.txt", import.meta.url).pathname;
const NO_VOCABULARY = {
  commands: COMMAND_NAMES,
  keywords: [],
  probes: () => [],
  fields: () => [],
  trackers: () => [],
  targets: [],
  files: () => [],
};

function setup() {
  let session: FakeSession | undefined;
  const controller = new ShellController({
    backend: "live eBPF",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener) => {
      session = new FakeSession(listener, "live eBPF");
      return session;
    },
  });
  const app = render(
    <App
      controller={controller}
      vocabulary={NO_VOCABULARY}
      onQuit={() => {}}
      size={{ columns: 101, rows: 31 }}
      timers={false}
    />,
  );
  return { app, controller, session: () => session as FakeSession };
}

async function enter(app: ReturnType<typeof setup>["app"], line: string, shows: string) {
  await press(app, line);
  app.stdin.write(ENTER);
  return waitForFrame(app, (frame) => frame.includes(shows));
}

test(":show with no snapshot yet says so, and how to get one", async () => {
  const { app } = setup();
  const frame = await enter(app, ":show", "error");
  assert.match(
    frame,
    /error: no hit has a snapshot yet: a tracker takes them with `then snapshot`/,
  );
  await press(app, "\u0015");
  const unknown = await enter(app, ":show nosuch", "named nosuch");
  assert.match(unknown, /error: no tracker named nosuch/);
  app.unmount();
});

test(":show opens the newest hit with a snapshot; keys go to the timeline; q returns", async () => {
  const { app, controller, session } = setup();
  await enter(app, "track wakeup: sched_wakeup(pid) -> sched_switch(pid) > 200us", "started");
  const withSnapshot = { ...session().hit("wakeup", 1_113_339), snapshot: FIXTURE };
  session().listener.hit(withSnapshot);
  // A newer hit whose snapshot was not taken (rate limit): :show skips it.
  session().listener.hit(session().hit("wakeup", 400_000));
  controller.flush();
  const empty = await enter(app, ":show irq", "named irq");
  assert.match(empty, /no tracker named irq/);
  await press(app, "\u0015");

  const shown = await enter(app, ":show wakeup", "wakeup threshold hit");
  assert.match(shown, new RegExp(`showing ${FIXTURE} \\(q goes back\\)`));
  assert.match(shown, /\ncpu1 .*tsc-16146─+/);
  assert.match(shown, /event 17\/26/);
  assert.not.match(shown, /ltsh>\s*$/, "the prompt gives way to the timeline");
  const stepped = await press(app, "n");
  assert.match(stepped, /event 18\/26/);
  const back = await press(app, "q");
  assert.match(back, /ltsh>\s*$/);
  assert.not.match(back, /event 18\/26/);
  // Typing works again: the keys are the prompt's.
  assert.match(await press(app, "n"), /ltsh> n\s*$/);
  app.unmount();
});

test(":show NAME worst opens the slowest kept hit with a snapshot; [ ] still step in time", async () => {
  const { app, session } = setup();
  await enter(app, "track wakeup: sched_wakeup(pid) -> sched_switch(pid) > 200us", "started");
  // the slower hit is the older one: :show alone would open the newer
  session().listener.hit({ ...session().hit("wakeup", 1_615_121), snapshot: SECOND });
  session().listener.hit({ ...session().hit("wakeup", 1_113_339), snapshot: FIXTURE });
  const bad = await enter(app, ":show wakeup slowest", "error");
  assert.match(bad, /error: :show wakeup slowest: the second word can only be worst/);
  await press(app, "\u0015");
  const worst = await enter(app, ":show wakeup worst", "hit 1/2");
  assert.match(worst, /showing the slowest of 2 kept hits with a snapshot, /);
  assert.match(worst, /wakeup threshold hit 1\.62ms {2}key=15 \(rcu_preempt-15\).* hit 1\/2/);
  app.stdin.write("]");
  assert.match(await waitForFrame(app, (f) => f.includes("hit 2/2")), /hit 1\.11ms/);
  assert.match(await press(app, "q"), /ltsh>\s*$/);
  app.unmount();
});

test("reducer: the viewer opens on the snapshot, takes timeline actions, and closes", async () => {
  const timeline = await loadTimeline(FIXTURE);
  const open = reducer(initialState("fake"), { type: "openViewer", timeline });
  assert.is(open.viewer?.timeline, timeline);
  const cursor = open.viewer?.cursor as number;
  const stepped = reducer(open, { type: "viewer", action: { type: "nextEvent" } });
  assert.is(stepped.viewer?.cursor, cursor + 1);
  assert.is(reducer(stepped, { type: "closeViewer" }).viewer, null);
  const closed = reducer(initialState("fake"), { type: "viewer", action: { type: "zoomIn" } });
  assert.is(closed.viewer, null, "no viewer, nothing to act on");
});

test("the controller keeps the last hits of each tracker; those with a snapshot, oldest first", () => {
  const controller = new ShellController({
    backend: "fake",
    frontEnd: fakeFrontEnd,
    openSession: async (listener) => new FakeSession(listener),
  });
  const session = new FakeSession(controller.listener);
  const hit = (tracker: string, snapshot: string | null) => ({
    ...session.hit(tracker, 1000),
    snapshot,
  });
  controller.listener.hit(hit("a", "a-1.txt"));
  controller.listener.hit(hit("b", "b-1.txt"));
  controller.listener.hit(hit("a", null));
  controller.listener.hit(hit("a", "a-2.txt"));
  const paths = (tracker?: string) => controller.snapshotHits(tracker).map((h) => h.snapshot);
  assert.equal(paths(), ["a-1.txt", "b-1.txt", "a-2.txt"]);
  assert.equal(paths("a"), ["a-1.txt", "a-2.txt"]);
  for (let i = 0; i < RECENT_HITS; i++) controller.listener.hit(hit("a", null));
  assert.equal(paths("a"), [], "older than the last RECENT_HITS");
  assert.equal(paths("c"), []);
});

test("[ and ] step to the previous and next kept hit's snapshot inside the viewer", async () => {
  const { app, session } = setup();
  await enter(app, "track wakeup: sched_wakeup(pid) -> sched_switch(pid) > 200us", "started");
  session().listener.hit({ ...session().hit("wakeup", 1_113_339), snapshot: FIXTURE });
  session().listener.hit({ ...session().hit("wakeup", 1_615_121), snapshot: SECOND });
  const shown = await enter(app, ":show", "hit 2/2");
  assert.match(shown, /wakeup threshold hit 1\.62ms {2}key=15 \(rcu_preempt-15\).* hit 2\/2/);
  assert.match(shown, /\[ \] older\/newer hit/);
  app.stdin.write("[");
  const older = await waitForFrame(app, (f) => f.includes("hit 1/2"));
  assert.match(older, /wakeup threshold hit 1\.11ms {2}key=16143 \(tsc-16143\)/);
  app.stdin.write("[");
  assert.match(await press(app, "n"), /hit 1\/2/, "no hit before the first: it stays");
  app.stdin.write("]");
  await waitForFrame(app, (f) => f.includes("hit 2/2"));
  assert.match(await press(app, "q"), /ltsh>\s*$/);
  app.unmount();
});

test("shift+up picks a kept hit in the feed; Enter on it opens its snapshot", async () => {
  const { app, controller, session } = setup();
  await enter(app, "track wakeup: sched_wakeup(pid) -> sched_switch(pid) > 200us", "started");
  session().listener.hit({ ...session().hit("wakeup", 1_113_339), snapshot: FIXTURE });
  session().listener.hit(session().hit("wakeup", 400_000));
  session().listener.hit({ ...session().hit("wakeup", 1_615_121), snapshot: SECOND });
  controller.flush();
  const newest = await press(app, SHIFT_UP);
  assert.match(newest, /\n▸ \S+ wakeup 1\.62ms key=\d+/, "the newest hit with a snapshot");
  assert.match(newest, /hit 2\/2: Enter opens its snapshot/);
  const older = await press(app, SHIFT_UP);
  assert.match(older, /\n▸ \S+ wakeup 1\.11ms key=\d+/, "the hit without a snapshot is skipped");
  assert.match(await press(app, SHIFT_UP), /hit 1\/2/, "no older one: the pick stays");
  assert.match(await press(app, SHIFT_DOWN), /hit 2\/2/);
  app.stdin.write(ESCAPE);
  const gone = await waitForFrame(app, (f) => !f.includes("Enter opens its snapshot"));
  assert.match(gone, /ltsh>\s*$/, "Esc forgets the pick; the prompt stays");
  await press(app, SHIFT_UP);
  await press(app, SHIFT_UP);
  app.stdin.write(ENTER);
  const shown = await waitForFrame(app, (f) => f.includes("event ") && f.includes("hit 1/2"));
  assert.match(shown, /wakeup threshold hit 1\.11ms {2}key=16143 \(tsc-16143\)/);
  assert.match(shown, /\ncpu1 .*tsc-16146─+/, "the timeline of that hit's snapshot");
  assert.match(await press(app, "q"), /ltsh>\s*$/);
  app.unmount();
});

test("reducer: a pick starts at the newest hit, moves within the list, and follows its hit", () => {
  const hits = ["a", "b", "c"].map((name) => ({ line: name, snapshot: `${name}.txt` }));
  const first = reducer(initialState("fake"), { type: "pick", hits, direction: 1 });
  assert.is(first.picked?.index, 2);
  const older = reducer(first, { type: "pick", hits, direction: -1 });
  assert.is(older.picked?.hits[older.picked.index].snapshot, "b.txt");
  const grown = [...hits, { line: "d", snapshot: "d.txt" }].slice(1);
  const followed = reducer(older, { type: "pick", hits: grown, direction: 1 });
  assert.is(followed.picked?.hits[followed.picked.index].snapshot, "c.txt");
  const none = reducer(initialState("fake"), { type: "pick", hits: [], direction: -1 });
  assert.is(none.picked, null);
  assert.match(none.notice ?? "", /no hit has a snapshot/);
  assert.is(reducer(followed, { type: "unpick" }).picked, null);
});

test.run();
