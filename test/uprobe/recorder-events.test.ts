// The recorder's uprobe_events specs for resolved probes: names, one spec per site, the
// semaphore, fetch arguments, and what cannot be recorded said per argument.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveUserProbe } from "../../src/compiler/uprobe/probe-target.ts";
import { recorderEvents } from "../../src/compiler/uprobe/recorder-events.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

function eventsFor(kind: "uprobe" | "uretprobe" | "usdt", spec: string, base: string) {
  const target = resolveUserProbe(kind, buildWorkload().pie, spec);
  if (!target.ok) throw new Error(target.message);
  const events = recorderEvents(target.value, base);
  if (!events.ok) throw new Error(events.message);
  return { target: target.value, ...events.value };
}

test("a two-site probe gets one event per site, numbered; names keep letters, digits, _", () => {
  const { specs, target } = eventsFor("usdt", "ltsh:tick", "q.tick-1");
  assert.equal(
    specs.map((s) => s.name),
    ["q_tick_1_0", "q_tick_1_1"],
  );
  assert.equal(
    specs.map((s) => s.fileOffset),
    target.sites.map((s) => s.fileOffset),
  );
  assert.equal(eventsFor("uprobe", "lt_add", "9lives").specs[0].name, "_9lives");
});

test("a guarded probe carries its semaphore; a uretprobe records retval", () => {
  const guarded = eventsFor("usdt", "guarded", "guarded").specs[0];
  assert.ok((guarded.refCtrOffset ?? 0) > 0);
  assert.equal(guarded.fetchArgs, ["arg0=%di:s64"]);
  const ret = eventsFor("uretprobe", "lt_add", "ret").specs[0];
  assert.equal([ret.retprobe, ret.fetchArgs], [true, ["retval=$retval:u64"]]);
});

test("indexed operands are reported per argument, the others recorded", () => {
  const { specs, unreadable } = eventsFor("usdt", "scaled", "scaled");
  assert.equal(
    specs[0].fetchArgs?.map((f) => f.slice(0, 5)),
    ["arg2="],
  );
  assert.equal(unreadable, [
    "scaled.arg0: '-4@16(%rdx,%rcx,4)' uses an index register, which uprobe_events cannot read",
    "scaled.arg1: '8@(%rax,%rbx,8)' uses an index register, which uprobe_events cannot read",
  ]);
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/recorder-events: ${skip}`);
else test.run();
