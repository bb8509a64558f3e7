// The shell's hooks for `ltsh demo`: narration lines drawn above the table and redrawn when
// they change, and a key acting on an empty prompt only (typed inside a line, it is a letter).

import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { App } from "../../src/repl/App.tsx";
import { ShellController } from "../../src/repl/controller.ts";
import { Narration } from "../../src/repl/narration.ts";
import { FakeSession, fakeFrontEnd } from "../repl/fake-session.ts";
import { plain, press, waitForFrame } from "../repl/ink-helpers.ts";

const vocabulary = {
  commands: [],
  keywords: [],
  probes: () => [],
  fields: () => [],
  trackers: () => [],
  targets: [],
  files: () => [],
};

function setup() {
  const controller = new ShellController({
    backend: "live eBPF",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener) => new FakeSession(listener, "live eBPF"),
  });
  const narration = new Narration(["demo x: what runs", "fault off"]);
  const presses: string[] = [];
  const app = render(
    <App
      controller={controller}
      vocabulary={vocabulary}
      onQuit={() => {}}
      size={{ columns: 60, rows: 20 }}
      timers={false}
      narration={narration}
      promptKeys={{
        f: () => presses.push("f"),
        s: (shell) => shell.run(":nosuch worst"),
      }}
    />,
  );
  return { app, narration, presses };
}

test("narration lines stand above the table and follow set()", async () => {
  const { app, narration } = setup();
  const first = plain(app.lastFrame()).split("\n");
  assert.equal(first.slice(0, 3), ["demo x: what runs", "fault off", first[2]]);
  assert.match(first[2], /no trackers yet/);
  narration.set(["demo x: what runs", "fault ON"]);
  const frame = await waitForFrame(app, (f) => f.includes("fault ON"));
  assert.not.match(frame, /fault off/);
  app.unmount();
});

test("f on an empty prompt runs the demo's key; inside a line it is typed", async () => {
  const { app, presses } = setup();
  app.stdin.write("f");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(presses, ["f"]);
  assert.match(plain(app.lastFrame()), /ltsh> $|ltsh>$/m);
  await press(app, "t");
  const frame = await press(app, "f");
  assert.equal(presses, ["f"], "not run while a line is typed");
  assert.match(frame, /ltsh> tf/);
  app.unmount();
});

test("a key may run a line in the shell, as if typed and entered", async () => {
  const { app } = setup();
  app.stdin.write("s");
  const frame = await waitForFrame(app, (f) => f.includes("unknown command"));
  assert.match(frame, /error: unknown command :nosuch/);
  assert.match(frame, /ltsh> :nosuch worst\s*$/, "rejected, the line comes back as if typed");
  app.unmount();
});

test.run();
