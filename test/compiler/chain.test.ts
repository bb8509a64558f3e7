// Chain trackers (`~>`) and `cancel` in the front end: what parses, the plan they give,
// every error the checker promises (ranges marked « » in the source) and the backends'
// refusals (user-space probes: test/compiler/uprobe.test.ts).

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BackendChoice } from "../../src/compiler/checker-backend.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import { catalog } from "./catalog-fixture.ts";
import { markRanges, parseMarked } from "./marked.ts";

function compile(source: string, backend: BackendChoice = "replay") {
  return compileSource(source, "t.lt", { catalog, backend });
}

function plan(source: string, backend: BackendChoice = "replay") {
  const { plan, diagnostics } = compile(source, backend);
  assert.equal(diagnostics, [], diagnostics.map((d) => d.message).join("\n"));
  return plan!.trackers[0];
}

test("the issue's netrx chain: steps, until, clauses; keys left out", () => {
  const t = plan(`track netrx: irq_handler_entry where irq == 24
    ~> softirq_entry where vec == 3
    ~> sched_switch where next_comm == "reader"
    until block
    > 500us timeout 100ms then print`);
  assert.equal(
    t.chain?.steps.map((s) => [s.via, s.side.probe.id, s.side.key.length, s.side.filter !== null]),
    [
      ["origin", "irq:irq_handler_entry", 0, true],
      ["context", "irq:softirq_entry", 0, true],
      ["context", "sched:sched_switch", 0, true],
    ],
  );
  assert.is(t.chain?.until, "block");
  assert.is(t.thresholdNs, 500_000);
  assert.is(t.timeoutNs, 100_000_000);
  assert.equal(t.begins[0].probe.id, "irq:irq_handler_entry");
  assert.equal(t.ends[0].probe.id, "sched:sched_switch");
  assert.equal(t.cancels, []);
});

test("until run is the default; an unnamed chain is origin_to_target", () => {
  const t = plan("track hrtimer_expire_entry ~> sched_switch where next_prio < 100 > 100us");
  assert.is(t.chain?.until, "run");
  assert.is(t.name, "hrtimer_expire_entry_to_sched_switch");
});

test("-> inside a chain hands over by key: both ends keep their keys", () => {
  const t = plan(
    "track rpc: softirq_raise ~> sys_enter_sendto($pid, fd) -> sys_enter_recvfrom($pid, fd) ~> sched_switch",
  );
  assert.equal(
    t.chain?.steps.map((s) => [s.via, s.side.probe.name, s.side.key.length]),
    [
      ["origin", "softirq_raise", 0],
      ["context", "sys_enter_sendto", 2],
      ["key", "sys_enter_recvfrom", 2],
      ["context", "sched_switch", 0],
    ],
  );
});

test("a plain tracker has no chain; cancel keeps its key and filter", () => {
  const t = plan(
    "track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) where prev_state != 0",
  );
  assert.is(t.chain, null);
  assert.equal(
    t.cancels?.map((c) => [c.probe.id, c.key.length, c.filter !== null]),
    [["sched:sched_switch", 1, true]],
  );
});

test("several cancel clauses add up", () => {
  const t = plan(
    "track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) cancel sched_process_exit(pid)",
  );
  assert.equal(
    t.cancels?.map((c) => c.probe.name),
    ["sched_switch", "sched_process_exit"],
  );
});

/** [what, marked source, codes of the errors in source order, backend] */
const cases: [string, string, string[], BackendChoice?][] = [
  [
    "until on a plain tracker",
    "track sched_wakeup(pid) -> sched_switch(next_pid) «until block»",
    ["until-plain"],
  ],
  [
    "two -> make no plain tracker",
    "track sched_wakeup(pid) -> sched_switch(next_pid) «->» sched_switch(prev_pid)",
    ["extra-link"],
  ],
  [
    "a plain probe without a key",
    "track «sched_wakeup» -> sched_switch(next_pid)",
    ["missing-key"],
  ],
  ["until with a bad policy", "track softirq_raise ~> sched_switch until «runs»", ["until-policy"]],
  [
    "a chain step no rule reaches",
    "track softirq_raise ~> «irq_handler_entry» ~> sched_switch",
    ["chain-unreachable"],
  ],
  [
    "a timer callback is only an origin",
    "track sched_waking ~> «hrtimer_expire_entry»",
    ["chain-unreachable"],
  ],
  [
    "-> in a chain with mismatched keys",
    "track softirq_raise ~> sys_enter_sendto($pid, fd) -> «sys_exit_recvfrom($pid)»",
    ["key-arity"],
  ],
  [
    "-> in a chain with keys of different types",
    "track softirq_raise ~> sys_enter_sendto($pid) -> sys_exit_recvfrom(«comm»)",
    ["key-type"],
  ],
  [
    "-> in a chain needs keys on both ends",
    "track softirq_raise ~> «sys_enter_sendto» -> sys_exit_recvfrom($pid)",
    ["missing-key"],
  ],
  [
    "alternatives in a chain",
    "track softirq_raise ~> { sched_switch | «sched_wakeup» }",
    ["chain-alternatives"],
  ],
  [
    "a chain longer than the backend's limit",
    `track softirq_raise${" ~> softirq_entry".repeat(7)} ~> «sched_switch»`,
    ["chain-length"],
  ],
  [
    "cancel with the wrong key shape",
    "track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(«prev_comm»)",
    ["key-type"],
  ],
  [
    "a chain's cancel has no key",
    "track softirq_raise ~> sched_switch cancel sched_switch(«prev_pid»)",
    ["cancel-chain-key"],
  ],
];

for (const [what, marked, codes, backend] of cases) {
  test(what, () => {
    const { source } = parseMarked(marked);
    const { plan, diagnostics } = compile(source, backend);
    const errors = diagnostics.filter((d) => d.severity === "error");
    assert.is(plan, null);
    const actual = markRanges(
      source,
      errors.map((d) => d.range),
    );
    assert.is(actual, marked, `codes: ${errors.map((d) => `${d.code}: ${d.message}`).join("; ")}`);
    assert.equal(
      errors.map((d) => d.code),
      codes,
    );
  });
}

test("eBPF takes a chain", () => {
  const { plan, diagnostics } = compile("track hrtimer_expire_entry ~> sched_switch", "ebpf");
  assert.equal(diagnostics, []);
  assert.is(plan?.trackers[0].chain?.steps.length, 2);
});

test("kmod takes a chain", () => {
  const { plan, diagnostics } = compile("track hrtimer_expire_entry ~> sched_switch", "kmod");
  assert.equal(diagnostics, []);
  assert.is(plan?.trackers[0].chain?.steps.length, 2);
});

test("eBPF takes cancel on a plain tracker", () => {
  const source = "track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid)";
  const { plan, diagnostics } = compile(source, "ebpf");
  assert.equal(diagnostics, []);
  assert.is(plan?.trackers[0].cancels?.length, 1);
});

test("the chain length error says the limit", () => {
  const source = `track softirq_raise${" ~> softirq_entry".repeat(7)} ~> sched_switch`;
  const [d] = compile(source).diagnostics;
  assert.is(d.message, "a chain has at most 8 steps (origin, waypoints, target); this one has 9");
});

test("a chain's cancel: keyless probes with their filters", () => {
  const t = plan(
    "track softirq_raise ~> sched_switch cancel sched_process_exit cancel kfree_skb where reason != 2",
  );
  assert.equal(
    t.cancels?.map((c) => [c.probe.name, c.key.length, c.filter !== null]),
    [
      ["sched_process_exit", 0, false],
      ["kfree_skb", 0, true],
    ],
  );
});

test("the language alone ('any', as ltsh check uses it) accepts chains and cancel", () => {
  assert.ok(compile("track hrtimer_expire_entry ~> sched_switch", "any").plan);
  assert.ok(
    compile(
      "track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid)",
      "any",
    ).plan,
  );
});

test.run();
