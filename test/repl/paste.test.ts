// Pasting several lines at the prompt: a tracker copied from examples/ (comments, one
// clause per line) becomes one statement; several statements are submitted in order.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { pastedStatements } from "../../src/repl/use-shell-input.ts";

test("an example file pasted whole becomes its statements, comments gone", () => {
  const example = [
    "# Wakeup latency: from the moment a task is woken up",
    "track wakeup:",
    "    sched_wakeup(args.pid)   # the woken task",
    "    -> sched_switch(next_pid)",
    "    > 200us",
    '    then exec "echo #1"',
    "set snapshot.margin = 5ms",
    "",
  ].join("\n");
  assert.equal(pastedStatements("", example), {
    submit: [
      'track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us then exec "echo #1"',
      "set snapshot.margin = 5ms",
    ],
    rest: "",
  });
});

test("fast typing: the line at the prompt continues, what follows the last newline stays typed", () => {
  assert.equal(pastedStatements("track a", "b: x(pid)\r:li"), {
    submit: ["track ab: x(pid)"],
    rest: ":li",
  });
  assert.equal(pastedStatements("", ":help\r\n:list\r"), { submit: [":help", ":list"], rest: "" });
});

test.run();
