// The real front end behind the prompt (bundled catalog): a line's error rendered with its
// caret, a duplicate name refused, a set line, a file's options kept for :save, the tidy
// :save layout, :emit on the real targets, and Tab's vocabulary from the catalog.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCatalog } from "../../src/compiler/catalog/index.ts";
import { completeText } from "../../src/repl/completion.ts";
import { ShellController } from "../../src/repl/controller.ts";
import { compilerFrontEnd } from "../../src/repl/front-end.ts";
import { ShellStatements } from "../../src/repl/statements.ts";
import { shellVocabulary } from "../../src/repl/vocabulary.ts";
import { FakeSession } from "./fake-session.ts";

const catalog = loadCatalog({ path: "bundled" });
const frontEnd = compilerFrontEnd(catalog, "ebpf");

test("the shell checks against its backend: a chain runs in a replay, live or kmod shell", () => {
  const chain = 'track lo: softirq_raise where vec == 3 ~> sched_switch where next_comm == "r"';
  assert.ok(compilerFrontEnd(catalog, "replay").checkLine(chain, []).ok, "replay takes chains");
  assert.ok(frontEnd.checkLine(chain, []).ok, "live eBPF takes chains");
  assert.ok(compilerFrontEnd(catalog, "kmod").checkLine(chain, []).ok, "kmod takes chains");
});

test("a typo is an error with the line and a caret under the culprit", () => {
  const result = frontEnd.checkLine("track w: sched_wakup(args.pid) -> sched_switch(next_pid)", []);
  assert.is(result.ok, false);
  if (result.ok) return;
  const [message, source, caret] = result.errors.split("\n");
  assert.is(message, "<prompt>:1:10: error: unknown tracepoint 'sched_wakup'");
  assert.is(source, " 1 | track w: sched_wakup(args.pid) -> sched_switch(next_pid)");
  // The caret starts under the misspelt name and spans it.
  assert.match(caret, /^ {3}\| {10}\^~{10,}$/);
});

test("a name the shell already has is refused; an unnamed tracker gets a fresh name", () => {
  const line = "track w: sched_wakeup(args.pid) -> sched_switch(next_pid)";
  const again = frontEnd.checkLine(line, ["w"]);
  assert.is(again.ok, false);
  const unnamed = frontEnd.checkLine("track sched_wakeup(args.pid) -> sched_switch(next_pid)", [
    "sched_wakeup_to_sched_switch",
  ]);
  assert.ok(unnamed.ok);
  if (unnamed.ok) assert.is.not(unnamed.trackers[0].name, "sched_wakeup_to_sched_switch");
});

test("set lines and a file's set statements come back with their text, and :save's text checks clean", () => {
  const set = frontEnd.checkLine("set snapshot.margin = 5ms", []);
  assert.ok(set.ok);
  if (!set.ok) return;
  assert.equal(set.sets, [
    { name: "snapshot.margin", value: 5_000_000, source: "set snapshot.margin = 5ms" },
  ]);
  const file =
    'set snapshot.dir = "/tmp/x"\n\ntrack sched_wakeup(args.pid)\n  -> sched_switch(next_pid) > 1ms\n';
  const checked = frontEnd.checkFile(file, "f.lt", []);
  assert.ok(checked.ok);
  if (!checked.ok) return;
  assert.equal(
    checked.sets.map((s) => s.source),
    ['set snapshot.dir = "/tmp/x"'],
  );
  const statements = new ShellStatements();
  statements.add(checked);
  const saved = statements.saved("# saved");
  assert.is(
    saved,
    '# saved\n\nset snapshot.dir = "/tmp/x"\n\ntrack sched_wakeup_to_sched_switch: sched_wakeup(args.pid)\n  -> sched_switch(next_pid) > 1ms\n',
  );
  assert.ok(frontEnd.checkFile(saved, "saved.lt", []).ok);
});

test(":save lays a one-line tracker out one clause per line, as examples/ do, and it checks clean", () => {
  const line =
    'track sched_wakeup(args.pid) where args.prio < 100 -> { sched_switch(next_pid) | sched_waking(pid) } > 200us timeout 1s keep last then exec "echo then timeout", print';
  const result = frontEnd.checkLine(line, []);
  assert.ok(result.ok, result.ok ? "" : result.errors);
  if (!result.ok) return;
  const statements = new ShellStatements();
  statements.add(result);
  const saved = statements.saved("# saved");
  assert.is(
    saved,
    [
      "# saved",
      "",
      "track sched_wakeup_to_sched_switch:",
      "    sched_wakeup(args.pid) where args.prio < 100",
      "    -> { sched_switch(next_pid) | sched_waking(pid) }",
      "    > 200us",
      "    timeout 1s",
      "    keep last",
      '    then exec "echo then timeout", print',
      "",
    ].join("\n"),
  );
  const again = frontEnd.checkFile(saved, "saved.lt", []);
  assert.ok(again.ok, again.ok ? "" : again.errors);
  if (again.ok) assert.equal(again.trackers[0].thresholdNs, result.trackers[0].thresholdNs);
});

test(":emit shows what a typed tracker compiles to, for each target", async () => {
  const controller = new ShellController({
    backend: "test",
    frontEnd,
    openSession: async (listener) => new FakeSession(listener),
  });
  await controller.submit("track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us");
  const output = async (line: string) => {
    const outcome = await controller.submit(line);
    return outcome.ok ? outcome.output.join("\n") : outcome.error;
  };
  assert.match(await output(":emit wakeup ebpf"), /\nltsh_wakeup_\w+: begin on sched:sched_wakeup/);
  assert.match(
    await output(":emit wakeup kmod"),
    /lt_wakeup: latency trackers generated by ltsh from wakeup\.lt/,
  );
  assert.match(await output(":emit wakeup plan"), /\n {2}"thresholdNs": 200000,\n/);
  assert.is(await output(":emit wakeup llvm"), "error: unknown target llvm (ebpf, kmod or plan)");
});

test("Tab completes probes and fields from the catalog", () => {
  const vocabulary = shellVocabulary(catalog, () => ["w"]);
  assert.is(completeText("track sched_wakeup_n", vocabulary).line.text, "track sched_wakeup_new ");
  assert.is(
    completeText("track sched_switch(next_pi", vocabulary).line.text,
    "track sched_switch(next_pid ",
  );
  assert.is(
    completeText("track sched:sched_swi", vocabulary).line.text,
    "track sched:sched_switch ",
  );
  assert.is(
    completeText("track sched_switch(prev_pid) where $co", vocabulary).line.text,
    "track sched_switch(prev_pid) where $comm ",
  );
});

test.run();
