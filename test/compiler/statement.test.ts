// The shell's entry: one `track` or `set` statement typed at the prompt.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileStatement } from "../../src/compiler/compile.ts";
import { catalog } from "./catalog-fixture.ts";

test("a track statement gives its TrackerPlan", () => {
  const r = compileStatement("track w: sched_wakeup(args.pid) -> sched_switch(next_pid) > 1ms", {
    catalog,
  });
  assert.is(r.kind, "track");
  if (r.kind === "track") assert.is(r.tracker.name, "w");
});

test("a set statement gives the option's converted value", () => {
  const r = compileStatement("set snapshot.margin = 2ms", { catalog });
  assert.equal(r.kind === "set" && [r.name, r.value], ["snapshot.margin", 2_000_000]);
});

test("names of running trackers are taken: a given name clashes, a derived one moves on", () => {
  const existingNames = ["w", "sched_wakeup_to_sched_switch"];
  const clash = compileStatement("track w: sched_wakeup(args.pid) -> sched_switch(next_pid)", {
    catalog,
    existingNames,
  });
  assert.is(clash.kind, "error");
  assert.is(clash.diagnostics[0].code, "duplicate-name");
  const derived = compileStatement("track sched_wakeup(args.pid) -> sched_switch(next_pid)", {
    catalog,
    existingNames,
  });
  assert.is(derived.kind === "track" && derived.tracker.name, "sched_wakeup_to_sched_switch_2");
});

test("errors come back as diagnostics located in the typed line", () => {
  const r = compileStatement("track sched_wakeup(args.pid) -> sched_swtch(next_pid)", { catalog });
  assert.is(r.kind, "error");
  assert.equal([r.diagnostics[0].range.file, r.diagnostics[0].range.col], ["<prompt>", 33]);
});

test("two statements on one line are refused", () => {
  const r = compileStatement("set snapshot.rate = 2 set exec.rate = 3", { catalog });
  assert.is(r.kind, "error");
  assert.is(r.diagnostics[0].code, "one-statement");
});

test.run();
