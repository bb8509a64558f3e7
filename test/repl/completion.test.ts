// Tab completion: commands, tracker names, emit targets, probes, fields of the probe in
// scope, file names; a unique match gets a space, several get their common prefix.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { complete, completeText, type Vocabulary } from "../../src/repl/completion.ts";
import { lineOf } from "../../src/repl/line-editor.ts";

const vocabulary: Vocabulary = {
  commands: [":help", ":hist", ":list", ":load", ":save", ":stop", ":start", ":emit"],
  keywords: ["where", "then", "timeout", "keep", "capacity"],
  probes: () => [
    "sched_wakeup",
    "sched_waking",
    "sched_switch",
    "sched:sched_wakeup",
    "irq_handler_entry",
  ],
  fields: (probe) =>
    probe.endsWith("sched_switch")
      ? ["next_pid", "next_comm", "prev_pid", "pid", "comm"]
      : ["pid", "prio", "comm"],
  trackers: () => ["wakeup", "irq"],
  targets: ["ebpf", "kmod", "plan"],
  files: (prefix) =>
    ["examples/", "examples/wakeup.lt", "saved.lt"].filter((f) => f.startsWith(prefix)),
};

test("commands complete, ambiguous ones list their choices", () => {
  assert.equal(completeText(":l", vocabulary), {
    line: { text: ":l", cursor: 2 },
    candidates: [":list", ":load"],
  });
  assert.equal(completeText(":hi", vocabulary).line, { text: ":hist ", cursor: 6 });
  assert.equal(completeText(":st", vocabulary).line.text, ":st");
  assert.equal(completeText(":sto", vocabulary).line.text, ":stop ");
});

test("tracker names after :stop/:hist, targets after :emit NAME, files after :load", () => {
  assert.is(completeText(":stop w", vocabulary).line.text, ":stop wakeup ");
  assert.is(completeText(":emit irq e", vocabulary).line.text, ":emit irq ebpf ");
  assert.is(completeText(":load ex", vocabulary).line.text, ":load examples/");
  assert.is(completeText(":load examples/w", vocabulary).line.text, ":load examples/wakeup.lt ");
});

test("inside then print(: the fields of both probes, then begin./end. for one side's", () => {
  const pair = "track sched_wakeup(pid) -> sched_switch(next_pid) then print(";
  assert.is(completeText(`${pair}pr`, vocabulary).line.text, `${pair}pr`);
  assert.equal(completeText(`${pair}pr`, vocabulary).candidates, ["prev_pid", "prio"]);
  assert.is(completeText(`${pair}next_c`, vocabulary).line.text, `${pair}next_comm `);
  assert.is(completeText(`${pair}prio, e`, vocabulary).line.text, `${pair}prio, end.`);
  assert.is(completeText(`${pair}end.next_p`, vocabulary).line.text, `${pair}end.next_pid `);
  assert.equal(completeText(`${pair}begin.p`, vocabulary).candidates, ["begin.pid", "begin.prio"]);
});

test("probe names after track, after -> and after a name:", () => {
  assert.equal(completeText("track sched_wa", vocabulary).candidates, [
    "sched_wakeup",
    "sched_waking",
  ]);
  assert.is(completeText("track sched_wa", vocabulary).line.text, "track sched_wak");
  assert.is(completeText("track w: irq_h", vocabulary).line.text, "track w: irq_handler_entry ");
  assert.is(
    completeText("track sched_wakeup(pid) -> sched_sw", vocabulary).line.text,
    "track sched_wakeup(pid) -> sched_switch ",
  );
  assert.is(completeText("track sched:sched_w", vocabulary).line.text, "track sched:sched_wakeup ");
});

test("fields of the probe whose key or where clause the cursor is in", () => {
  assert.is(
    completeText("track sched_wakeup(pr", vocabulary).line.text,
    "track sched_wakeup(prio ",
  );
  assert.is(
    completeText("track sched_wakeup(pid) -> sched_switch(next_p", vocabulary).line.text,
    "track sched_wakeup(pid) -> sched_switch(next_pid ",
  );
  assert.is(
    completeText("track sched_wakeup(pid) where pr", vocabulary).line.text,
    "track sched_wakeup(pid) where prio ",
  );
  assert.is(
    completeText("track sched_wakeup(pid) -> sched_switch(next_pid) ti", vocabulary).line.text,
    "track sched_wakeup(pid) -> sched_switch(next_pid) timeout ",
  );
});

test("inside a key list only fields and builtins are offered, not keywords", () => {
  assert.equal(completeText("track sched_wakeup(", vocabulary).candidates, ["comm", "pid", "prio"]);
  assert.equal(completeText("track sched_wakeup(pid) where ", vocabulary).candidates, [
    "capacity",
    "comm",
    "keep",
    "pid",
    "prio",
    "then",
    "timeout",
    "where",
  ]);
});

test("a long list of choices is cut and says how many more there are", () => {
  const many: Vocabulary = {
    ...vocabulary,
    probes: () => Array.from({ length: 30 }, (_, i) => `p${String(i).padStart(2, "0")}`),
  };
  const { candidates } = completeText("track p", many);
  assert.is(candidates.length, 25);
  assert.is(candidates[23], "p23");
  assert.is(candidates[24], "(… 6 more: type more letters)");
});

test("completion in the middle of a line keeps what follows the cursor", () => {
  const line = { text: "track sched_wa -> x", cursor: "track sched_wak".length - 1 };
  const result = complete(line, vocabulary);
  assert.is(result.line.text, "track sched_wak -> x");
  assert.is(result.line.cursor, "track sched_wak".length);
});

test("no match leaves the line alone; the first word completes to track or set", () => {
  assert.equal(completeText(":zz", vocabulary), { line: lineOf(":zz"), candidates: [] });
  assert.is(completeText("tr", vocabulary).line.text, "track ");
});

test.run();
