// While a tracker's programs go in one by one, a chain must not start before the rules that
// carry it: live eBPF attaches a chain's origin program after the tracker's others and
// detaches it first; kmod registers the origin's probe last (lt_module.c removes in
// reverse). Before, the origin went first: in test:vm, a NET_RX raise made while its
// softirq_entry program was not yet attached waited 145 ms for a later softirq.

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTrackers } from "../../src/compiler/bpf/codegen.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import { chainContextEvents } from "../../src/compiler/contexts.ts";
import { buildChainModel } from "../../src/compiler/kmod/chain-model.ts";
import type { FilePlan, ProbePlan } from "../../src/compiler/plan.ts";
import { resolveProbe } from "../../src/compiler/probes.ts";
import { attachOrder } from "../../src/session/live-attach.ts";

const catalog = loadBundledCatalog();
const CHAINS = readFileSync(new URL("../fixtures/bpf/chains.lt", import.meta.url), "utf8");
const TASK = { pid: 2448, tgid: 2452, comm: 3048 };

function planOf(source: string, backend: "ebpf" | "kmod"): FilePlan {
  const { plan, diagnostics } = compileSource(source, "t.lt", { catalog, backend });
  assert.ok(plan, JSON.stringify(diagnostics));
  return plan;
}

function objects(source: string) {
  const contexts = new Map<string, ProbePlan>();
  for (const id of chainContextEvents()) {
    const found = resolveProbe(id, catalog, null);
    if (found.ok) contexts.set(id, found.probe);
  }
  return generateTrackers(planOf(source, "ebpf"), { task: TASK, contexts, cpus: 2 }).trackers;
}

test("live eBPF: a chain's origin program is attached after all the tracker's others", () => {
  for (const tracker of objects(CHAINS)) {
    const origin = tracker.layout.plan.chain!.steps[0].side.probe.id;
    const order = attachOrder(tracker.programs);
    assert.equal(
      [...order].sort((a, b) => a - b),
      tracker.programs.map((_, i) => i),
    );
    const ids = order.map((i) => tracker.programs[i].probe.id);
    assert.is(ids.at(-1), origin, tracker.layout.plan.name);
    assert.is(ids.indexOf(origin), ids.length - 1, "one origin program");
    assert.ok(ids.length > 10, `${ids.length} programs: the context events too`);
  }
});

test("live eBPF: a plain tracker's programs keep their order (ends before begins)", () => {
  const [tracker] = objects(
    "track w: sched_wakeup(pid) -> sched_switch(next_pid) > 1ms cancel sched_process_exit(pid)",
  );
  const order = attachOrder(tracker.programs);
  assert.equal(order, [0, 1, 2]);
  assert.equal(
    order.map((i) => tracker.programs[i].role),
    ["end", "cancel", "begin"],
  );
});

test("kmod: a chain's origin probe is registered last", () => {
  for (const plan of planOf(CHAINS, "kmod").trackers) {
    const model = buildChainModel(plan, []);
    assert.ok(model, plan.name);
    const names = model.probes.map((p) => p.tracepoint.name);
    const origin = plan.chain!.steps[0].side.probe.name;
    assert.is(names.at(-1), origin, plan.name);
    assert.is(names.indexOf(origin), names.length - 1);
  }
});

test.run();
