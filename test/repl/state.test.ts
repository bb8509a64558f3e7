// The shell's reducer, with no rendering: editing, history, accept/reject, Ctrl-C, the
// bounded <Static> feed and the selected tracker.

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type Action,
  initialState,
  PRINTED_LIMIT,
  reducer,
  type ShellState,
} from "../../src/repl/state.ts";

function run(actions: Action[], state: ShellState = initialState("fake")): ShellState {
  return actions.reduce(reducer, state);
}

const type = (text: string): Action => ({ type: "insert", text });

test("typing, moving and deleting edit the line at the cursor", () => {
  const state = run([
    type("track x"),
    { type: "home" },
    { type: "delete" },
    type("T"),
    { type: "end" },
    { type: "backspace" },
    type("y"),
  ]);
  assert.equal(state.line, { text: "Track y", cursor: 7 });
  const killed = run([{ type: "wordLeft" }, { type: "killToStart" }], state);
  assert.equal(killed.line, { text: "y", cursor: 0 });
  assert.equal(run([{ type: "end" }, { type: "killWord" }], state).line, {
    text: "Track ",
    cursor: 6,
  });
});

test("a rejected line keeps its text and shows the error; the next edit keeps the error", () => {
  const state = run([
    type("track nope(pid) -> b(pid)"),
    { type: "submitStart" },
    { type: "rejected", input: "track nope(pid) -> b(pid)", error: "bad" },
  ]);
  assert.is(state.line.text, "track nope(pid) -> b(pid)");
  assert.is(state.error, "bad");
  assert.is(state.busy, false);
  assert.is(run([type("x")], state).error, "bad");
});

test("an accepted line is echoed with its output, clears the prompt and the error", () => {
  const state = run([
    type("track a"),
    { type: "rejected", input: "track a", error: "bad" },
    { type: "accepted", input: "track a", output: ["started a"], select: "a" },
  ]);
  assert.is(state.line.text, "");
  assert.is(state.error, null);
  assert.equal(
    state.printed.blocks.map((b) => [b.lines, b.tone]),
    [
      [["ltsh> track a"], "echo"],
      [["started a"], "output"],
    ],
  );
  assert.is(state.selected, "a");
});

test("Enter empties the prompt at once; typing ahead is kept whatever the answer", () => {
  const started = run([type("track a"), { type: "submitStart" }]);
  assert.is(started.line.text, "");
  assert.ok(started.busy);
  const ahead = run([type(":list"), { type: "accepted", input: "track a", output: [] }], started);
  assert.is(ahead.line.text, ":list");
  const refused = run(
    [type(":list"), { type: "rejected", input: "track a", error: "bad" }],
    started,
  );
  assert.is(refused.line.text, ":list");
  assert.is(refused.error, "bad");
});

test("a pasted line's result: accepted keeps what was typed after it; rejected brings it back to an empty prompt", () => {
  const typedAfter = run([type("draft"), { type: "accepted", input: "track a", output: [] }]);
  assert.is(typedAfter.line.text, "draft");
  const back = run([{ type: "rejected", input: "track b", error: "bad" }]);
  assert.equal(back.line, { text: "track b", cursor: 7 });
  const kept = run([type("other"), { type: "rejected", input: "track b", error: "bad" }]);
  assert.is(kept.line.text, "other");
});

test("history: up walks back, down returns to the unfinished line; duplicates collapse", () => {
  let state = run([
    { type: "accepted", input: ":list", output: [] },
    { type: "accepted", input: ":help", output: [] },
    { type: "accepted", input: ":help", output: [] },
    type("draft"),
  ]);
  assert.equal(state.history.entries, [":list", ":help"]);
  state = run([{ type: "historyPrev" }], state);
  assert.is(state.line.text, ":help");
  state = run([{ type: "historyPrev" }, { type: "historyPrev" }], state);
  assert.is(state.line.text, ":list");
  state = run([{ type: "historyNext" }, { type: "historyNext" }], state);
  assert.is(state.line.text, "draft");
  assert.is(state.history.index, null);
});

test("Ctrl-C clears a typed line; on an empty line it arms, and a second one quits", () => {
  let state = run([type("abc"), { type: "interrupt" }]);
  assert.is(state.line.text, "");
  assert.is(state.quitting, false);
  state = run([{ type: "interrupt" }], state);
  assert.ok(state.ctrlCArmed);
  assert.match(state.notice ?? "", /Ctrl-C again/);
  assert.is(run([type("x"), { type: "backspace" }, { type: "interrupt" }], state).quitting, false);
  assert.is(run([{ type: "interrupt" }], state).quitting, true);
});

test("printed blocks start a new <Static> generation past the limit, so memory is bounded", () => {
  const print = (i: number): Action => ({
    type: "print",
    lines: [`hit ${i}`, "more"],
    tone: "hit",
  });
  let state = run(Array.from({ length: PRINTED_LIMIT }, (_, i) => print(i)));
  assert.is(state.printed.generation, 0);
  assert.is(state.printed.blocks.length, PRINTED_LIMIT);
  state = run([print(PRINTED_LIMIT)], state);
  assert.is(state.printed.generation, 1);
  assert.equal(state.printed.blocks, [
    { id: PRINTED_LIMIT, lines: [`hit ${PRINTED_LIMIT}`, "more"], tone: "hit" },
  ]);
});

test("the selected tracker follows the newest one until the user picks one, and drops when removed", () => {
  const row = (name: string) => ({
    name,
    probes: "a -> b",
    thresholdNs: null,
    state: "running" as const,
    summary: {
      type: "summary" as const,
      tracker: name,
      pairs: 0,
      hits: 0,
      timeouts: 0,
      dropped: 0,
      pending: 0,
      min_ns: null,
      p50_ns: null,
      p99_ns: null,
      max_ns: null,
      hist: [],
      sum_ns: 0,
      missed: 0,
    },
  });
  const status = initialState("fake").status;
  let state = run([{ type: "stats", trackers: [row("a"), row("b")], status }]);
  assert.is(state.selected, "b");
  state = run(
    [
      { type: "select", tracker: "a" },
      { type: "stats", trackers: [row("a"), row("b")], status },
    ],
    state,
  );
  assert.is(state.selected, "a");
  state = run([{ type: "selectNext", direction: 1 }], state);
  assert.is(state.selected, "b");
  state = run([{ type: "selectNext", direction: 1 }], state);
  assert.is(state.selected, "a", "wraps around");
  state = run([{ type: "selectNext", direction: -1 }], state);
  assert.is(state.selected, "b");
  state = run([{ type: "stats", trackers: [row("b")], status }], state);
  assert.is(state.selected, "b");
});

test.run();
