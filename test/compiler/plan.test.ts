// The FilePlan the front end hands to every backend: resolved probes, typed keys and
// filters, nanoseconds, defaults, derived names, options; and every example compiles.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import { defaultOptions } from "../../src/compiler/options.ts";
import { DEFAULT_CAPACITY, type FilePlan } from "../../src/compiler/plan.ts";
import { exampleFiles, exampleSource } from "../corpus.ts";
import { catalog } from "./catalog-fixture.ts";

function plan(source: string): FilePlan {
  const { plan, diagnostics } = compileSource(source, "t.lt", { catalog });
  assert.equal(diagnostics, [], diagnostics.map((d) => d.message).join("\n"));
  return plan!;
}

for (const file of exampleFiles()) {
  test(`examples/${file} checks clean and opens with a comment`, () => {
    const text = exampleSource(file);
    assert.ok(text.startsWith("# "), "an example says what it measures first");
    assert.ok(plan(text).trackers.length > 0);
  });
}

test("the one-liner: threshold in ns, defaults, derived name, probe ids", () => {
  const p = plan("track sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us then snapshot");
  const t = p.trackers[0];
  assert.is(t.name, "sched_wakeup_to_sched_switch");
  assert.is(t.thresholdNs, 200_000);
  assert.is(t.timeoutNs, null);
  assert.is(t.keep, "first");
  assert.is(t.capacity, DEFAULT_CAPACITY);
  assert.equal(
    t.actions.map((a) => a.kind),
    ["snapshot"],
  );
  assert.is(t.begins[0].probe.id, "sched:sched_wakeup");
  assert.is(t.ends[0].probe.eventId, catalog.get("sched", "sched_switch")!.id);
  assert.is(
    t.source,
    "track sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us then snapshot",
  );
});

test("the issue's one-liner and DESIGN.md's draft are valid as written (no warning)", () => {
  const oneLiner = "track sched_wakeup(pid) -> sched_switch(next_pid) > 200us then snapshot";
  const draft = `# a comment
track wakeup:                          # optional name
    sched_wakeup(pid) where prio < 100 # begin probe, key, optional filter
    -> sched_switch(next_pid)          # end probe, key of the same shape
    > 200us                            # threshold: longer pairs are hits
    timeout 50ms                       # begins with no end in 50 ms: timeout hits
    then snapshot, stack               # actions on a hit (default: print)
`;
  for (const source of [oneLiner, draft]) {
    const { plan, diagnostics } = compileSource(source, "t.lt", { catalog });
    assert.ok(plan);
    assert.equal(diagnostics, []);
  }
});

test("int keys of any width widen to 64 bits; string keys take the larger size", () => {
  const ints = plan("track sched_wakeup(args.pid) -> sys_exit(ret)").trackers[0];
  assert.equal(ints.keyTypes, [{ kind: "int", size: 8, signed: true }]);
  assert.equal(ints.begins[0].key[0].type, { kind: "int", size: 4, signed: true });
  const strings = plan("track block_rq_issue(rwbs) -> sched_switch(prev_comm)").trackers[0];
  assert.equal(strings.keyTypes, [{ kind: "string", size: 16 }]);
});

test("args.NAME reaches a field named like a keyword", () => {
  const t = plan(
    "track sys_enter_epoll_wait($tid) where args.timeout > 0 -> sys_exit_epoll_wait($tid)",
  ).trackers[0];
  const filter = t.begins[0].filter;
  assert.ok(
    filter?.kind === "compare" &&
      filter.left.kind === "field" &&
      filter.left.field.name === "timeout",
  );
});

test("no action: print; no name: derived and made unique", () => {
  const p = plan(
    "track sched_wakeup(args.pid) -> sched_switch(next_pid)\ntrack sched_wakeup(args.pid) -> sched_switch(next_pid)",
  );
  assert.equal(
    p.trackers.map((t) => t.name),
    ["sched_wakeup_to_sched_switch", "sched_wakeup_to_sched_switch_2"],
  );
  assert.equal(
    p.trackers[0].actions.map((a) => a.kind),
    ["print"],
  );
});

test("alternatives keep their own key and filter", () => {
  const t = plan(
    "track { sys_exit_accept($pid, ret) where ret >= 0 | sys_exit_accept4($pid, ret) } -> { sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) }",
  ).trackers[0];
  assert.equal(
    t.begins.map((b) => b.probe.id),
    ["syscalls:sys_exit_accept", "syscalls:sys_exit_accept4"],
  );
  assert.is(t.begins[0].filter?.kind, "compare");
  assert.is(t.begins[1].filter, null);
  assert.is(t.ends.length, 2);
});

test("filters are typed expression trees with decimal-string literals", () => {
  const filter = plan(
    'track sched_wakeup(args.pid) where !(prio < 0x10 || args.comm == "bash") && $cpu != 3 -> sched_switch(next_pid)',
  ).trackers[0].begins[0].filter!;
  assert.is(filter.kind, "logic");
  if (filter.kind !== "logic" || filter.left.kind !== "not" || filter.left.operand.kind !== "logic")
    throw new Error("shape");
  const [prioTest, commTest] = [filter.left.operand.left, filter.left.operand.right];
  if (prioTest.kind !== "compare" || commTest.kind !== "compare") throw new Error("shape");
  assert.equal(prioTest.right, { ...prioTest.right, kind: "int", value: "16" });
  assert.is(commTest.left.kind, "field");
  assert.equal(commTest.right.type, { kind: "string", size: 5 });
});

test("timeout, keep, capacity and exec argv (split without a shell, quotes respected)", () => {
  const t = plan(
    `track sched_wakeup(args.pid) -> sched_switch(next_pid) timeout 50ms keep last capacity 16 then exec "notify-send 'slow wakeup' \\"now\\""`,
  ).trackers[0];
  assert.is(t.timeoutNs, 50_000_000);
  assert.is(t.keep, "last");
  assert.is(t.capacity, 16);
  assert.equal(t.actions[0], {
    kind: "exec",
    argv: ["notify-send", "slow wakeup", "now"],
    range: t.actions[0].range,
  });
});

test("options: defaults filled in, set values converted to bytes, ns and category:name", () => {
  const p = plan(
    "set snapshot.buffer = 4MiB\nset snapshot.margin = 5ms\nset snapshot.events = sched_switch, irq:softirq_entry\nset snapshot.lttng = mysession\ntrack sched_wakeup(args.pid) -> sched_switch(next_pid)",
  );
  assert.equal(p.options, {
    ...defaultOptions(),
    "snapshot.buffer": 4 * 1024 * 1024,
    "snapshot.margin": 5_000_000,
    "snapshot.events": ["sched:sched_switch", "irq:softirq_entry"],
    "snapshot.lttng": "mysession",
  });
  assert.is(defaultOptions()["ringbuf.size"], 256 * 1024);
  assert.is(defaultOptions()["exec.timeout"], 5_000_000_000);
});

test("a plan survives JSON (what `compile --emit plan` prints)", () => {
  const p = plan("track sched_wakeup(args.pid) -> sched_switch(next_pid) > 1s");
  assert.equal(JSON.parse(JSON.stringify(p)), p);
});

test.run();
