// The shell's :metrics with a fake session: it serves the session's counters as `ltsh run
// --metrics` does, says where in the status line, moves, keeps serving when a new port is
// taken, stops with `off` and when the shell closes; :help lists it; a frame shows it.

import { createServer } from "node:net";
import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { App } from "../../src/repl/App.tsx";
import { COMMAND_NAMES } from "../../src/repl/commands.ts";
import { ShellController } from "../../src/repl/controller.ts";
import type { Action, StatusInfo } from "../../src/repl/state.ts";
import { parseExposition, sampleValue } from "../metrics/parse.ts";
import { FakeSession, fakeFrontEnd } from "./fake-session.ts";
import { ENTER, plain, press, waitForFrame } from "./ink-helpers.ts";

function setup() {
  const sessions: FakeSession[] = [];
  const controller = new ShellController({
    backend: "fake",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener) => {
      sessions.push(new FakeSession(listener));
      return sessions.at(-1)!;
    },
  });
  const actions: Action[] = [];
  controller.attach((action) => actions.push(action), false);
  const status = (): StatusInfo => {
    const stats = actions.filter((a) => a.type === "stats").at(-1);
    return (stats as Extract<Action, { type: "stats" }>).status;
  };
  return { controller, sessions, status };
}

/** A test body with a shell whose endpoint and session close even when an assertion fails. */
function withShell(body: (shell: ReturnType<typeof setup>) => Promise<void>) {
  return async () => {
    const shell = setup();
    try {
      await body(shell);
    } finally {
      await shell.controller.closeSession();
    }
  };
}

async function submit(controller: ShellController, line: string): Promise<string> {
  const outcome = await controller.submit(line);
  return outcome.ok ? outcome.output.join("\n") : outcome.error;
}

const urlIn = (text: string) => /serving metrics at (http:\S+\/metrics)/.exec(text)?.[1] ?? "";

async function scrape(url: string) {
  const response = await fetch(url);
  assert.is(response.status, 200);
  return parseExposition(await response.text());
}

const refused = (url: string) =>
  fetch(url).then(
    () => false,
    () => true,
  );

test(
  ":metrics HOST:PORT serves the session's counters; the status line says where",
  withShell(async ({ controller, sessions, status }) => {
    await submit(controller, "track w: sched_wakeup(pid) -> sched_switch(pid) > 1us");
    for (const ns of [500, 5000, 70_000]) sessions[0].pair("w", ns);
    const url = urlIn(await submit(controller, ":metrics 127.0.0.1:0"));
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const host = new URL(url).host;
    assert.is(status().metrics, host);
    let samples = await scrape(url);
    assert.is(sampleValue(samples, "ltsh_pairs_total", { tracker: "w" }), 3);
    assert.is(sampleValue(samples, "ltsh_hits_total", { tracker: "w", kind: "threshold" }), 2);
    assert.is(sampleValue(samples, "ltsh_latency_seconds_count", { tracker: "w" }), 3);
    assert.is(sampleValue(samples, "ltsh_latency_seconds_sum", { tracker: "w" }), 75_500 / 1e9);
    sessions[0].pair("w", 100);
    samples = await scrape(url);
    assert.is(sampleValue(samples, "ltsh_pairs_total", { tracker: "w" }), 4, "read at each scrape");
    assert.is(await submit(controller, ":metrics"), `serving metrics at ${url}`);
    assert.is(await submit(controller, ":metrics off"), `stopped serving metrics at ${url}`);
    assert.ok(await refused(url), "nothing listens after :metrics off");
    assert.is(status().metrics, undefined);
    assert.is(await submit(controller, ":metrics off"), "metrics were not being served");
    assert.match(await submit(controller, ":metrics"), /^not serving metrics/);
  }),
);

test(":metrics moves; a port in use is an error that keeps the old endpoint serving", async () => {
  const { controller } = setup();
  const first = urlIn(await submit(controller, ":metrics 127.0.0.1:0"));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const taken = (blocker.address() as { port: number }).port;
  try {
    const error = await submit(controller, `:metrics 127.0.0.1:${taken}`);
    assert.is(
      error,
      `error: cannot serve metrics on 127.0.0.1:${taken}: the address is in use (another ltsh ` +
        `or exporter listens there; pick another port) (still serving at ${first})`,
    );
    assert.ok(!(await refused(first)), "the old endpoint still answers");
    const second = urlIn(await submit(controller, ":metrics 127.0.0.1:0"));
    assert.is.not(second, first);
    assert.ok(await refused(first), "moved: the old endpoint is closed");
    assert.ok(!(await refused(second)));
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
    await controller.closeSession();
  }
});

test(
  ":metrics takes a bare PORT; a malformed address is a usage error naming :metrics",
  withShell(async ({ controller }) => {
    assert.is(
      await submit(controller, ":metrics 12ab"),
      "error: :metrics expects [HOST]:PORT such as :9464 or 127.0.0.1:9464, not '12ab'",
    );
    assert.is(await submit(controller, ":metrics 1 2"), "error: usage: :metrics [HOST:]PORT|off");
    // A bare port is every interface: serve it, read the bound address back, stop.
    const url = urlIn(await submit(controller, ":metrics 0"));
    assert.ok(url !== "", "a bare port serves");
    const port = new URL(url).port;
    assert.ok(!(await refused(`http://127.0.0.1:${port}/metrics`)), "loopback reaches it");
  }),
);

test(
  "a set line that reopens the session: scrapes follow to the new one",
  withShell(async ({ controller, sessions }) => {
    await controller.open();
    const url = urlIn(await submit(controller, ":metrics 127.0.0.1:0"));
    await submit(controller, "set snapshot.dir = /tmp/snaps");
    assert.ok(sessions[0].closed);
    await submit(controller, "track w: sched_wakeup(pid) -> sched_switch(pid) > 1us");
    assert.is(sessions.length, 2, "the session reopened with the option");
    sessions[1].pair("w", 5000);
    const samples = await scrape(url);
    assert.is(sampleValue(samples, "ltsh_pairs_total", { tracker: "w" }), 1);
  }),
);

test("closing the shell stops the endpoint before the session closes", async () => {
  const { controller, sessions } = setup();
  await submit(controller, "track w: sched_wakeup(pid) -> sched_switch(pid) > 1us");
  const url = urlIn(await submit(controller, ":metrics 127.0.0.1:0"));
  const session = sessions[0];
  let servingWhenClosed: boolean | null = null;
  const close = session.close.bind(session);
  session.close = async () => {
    servingWhenClosed = !(await refused(url));
    return close();
  };
  await controller.closeSession();
  assert.is(servingWhenClosed, false, "no scrape can read a closing session");
  assert.ok(session.closed);
});

test(":help lists :metrics; completion knows the name", () => {
  assert.ok(COMMAND_NAMES.includes(":metrics"));
  const { controller } = setup();
  return controller.submit(":help").then((outcome) => {
    assert.ok(outcome.ok);
    const line = outcome.ok ? outcome.output.find((l) => l.includes(":metrics")) : undefined;
    assert.match(line ?? "", /^ {2}:metrics \[HOST:\]PORT\|off +serve GET \/metrics/);
  });
});

test("frame: the status line shows where :metrics serves, and no longer after off", async () => {
  const controller = new ShellController({
    backend: "replay demo.txt",
    frontEnd: fakeFrontEnd,
    now: () => 0,
    openSession: async (listener) => new FakeSession(listener),
  });
  const vocabulary = {
    commands: COMMAND_NAMES,
    keywords: [],
    probes: () => [],
    fields: () => [],
    trackers: () => [],
    targets: [],
    files: () => [],
  };
  const app = render(
    <App
      controller={controller}
      vocabulary={vocabulary}
      onQuit={() => {}}
      size={{ columns: 100, rows: 24 }}
      timers={false}
    />,
  );
  try {
    await press(app, ":metrics 127.0.0.1:0");
    await press(app, ENTER);
    const frame = await waitForFrame(app, (f) => f.includes("metrics 127.0.0.1:"));
    const port = new URL(controller.metrics.url!).port;
    assert.is(
      plain(frame).split("\n").at(-2),
      `replay demo.txt │ 00:00 │ 0 pairs/s │ 0 hits/s │ 0 dropped │ metrics 127.0.0.1:${port}`,
    );
    assert.match(plain(frame), /serving metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
    await press(app, ":metrics off");
    await press(app, ENTER);
    const off = await waitForFrame(app, (f) => f.includes("stopped serving"));
    assert.is(
      plain(off).split("\n").at(-2),
      "replay demo.txt │ 00:00 │ 0 pairs/s │ 0 hits/s │ 0 dropped",
    );
  } finally {
    app.unmount();
    await controller.closeSession();
  }
});

test.run();
