// The examples over traces recorded on a real kernel (test/fixtures/traces, see its README),
// cross-checked against pairings computed independently: plain JS here and the awk script
// the benchmark races against.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileFile } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";
import { readTrace } from "../../src/replay/reader.ts";
import { compileTrackers } from "./support.ts";

const TRACES = "test/fixtures/traces";

function example(name: string): TrackerPlan[] {
  const { plan, diagnostics } = compileFile(`examples/${name}.lt`, {
    catalog: loadBundledCatalog(),
  });
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return plan.trackers;
}

async function replay(trackers: TrackerPlan[], trace: string, fast = false) {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const interpreter = new Interpreter({
    hit: (h) => hits.push(h),
    warning: (w) => warnings.push(w),
  });
  for (const t of trackers) interpreter.add(t);
  // fast: what sessions use — tracefs text scanned as bytes, one reused event object.
  const options = fast ? { interest: [...interpreter.eventNames()], reuseEvents: true } : {};
  const result = await readTrace({ path: `${TRACES}/${trace}`, ...options }, (e) =>
    interpreter.feed(e),
  );
  interpreter.finish(trace);
  const summaries: SummaryRecord[] = interpreter.summaries();
  return { hits, warnings, summaries, result };
}

/**
 * Independent wakeup pairing in plain JS: keep first, strict threshold, no timeout; with
 * `cancel`, a switch-out forgets its task's pending wakeup after the switch-in's pairing.
 */
function pairWakeupsByHand(text: string, thresholdNs: bigint, cancel: boolean) {
  const pending = new Map<string, bigint>();
  const hits: string[] = [];
  let pairs = 0;
  let cancelled = 0;
  for (const line of text.split("\n")) {
    const m = / (\d+)\.(\d{6}): (sched_wakeup|sched_switch): (.*)$/.exec(line);
    if (!m) continue;
    const ns = BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]) * 1000n;
    if (m[3] === "sched_wakeup") {
      const pid = / pid=(\d+)/.exec(m[4])![1];
      if (!pending.has(pid)) pending.set(pid, ns);
      continue;
    }
    const pid = /next_pid=(\d+)/.exec(m[4])![1];
    const begin = pending.get(pid);
    if (begin !== undefined) {
      pending.delete(pid);
      pairs++;
      if (ns - begin > thresholdNs) hits.push(`${begin} ${ns} ${pid} ${ns - begin}`);
    }
    const prev = /prev_pid=(\d+)/.exec(m[4])![1];
    if (cancel && pending.delete(prev)) cancelled++;
  }
  return { pairs, hits, pending: pending.size, cancelled };
}

const toLine = (h: HitRecord) => `${h.begin.ts_ns} ${h.end!.ts_ns} ${h.key[0]} ${h.latency_ns}`;

// The plain pairing, and examples/wakeup.lt's (its cancel; no pending wait reaches its 1 s
// timeout in this trace), each against the JS pairing and the awk script.
for (const [what, source, cancel] of [
  [
    "a plain wakeup tracker",
    "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us",
    false,
  ],
  ["examples/wakeup.lt", "", true],
] as const) {
  test(`${what}: identical pairs, hits and cancels to an independent JS pairing and to the awk script`, async () => {
    const trackers = source === "" ? example("wakeup") : compileTrackers(source);
    const { hits, summaries } = await replay(trackers, "wakeup.txt");
    const text = readFileSync(`${TRACES}/wakeup.txt`, "utf8");
    const byHand = pairWakeupsByHand(text, 200_000n, cancel);
    assert.ok(byHand.pairs > 100, "the fixture has enough wakeups to mean something");
    assert.is(byHand.cancelled > 0, cancel, "the trace has wakeups of running tasks");
    assert.is(summaries[0].timeouts, 0);
    assert.is(summaries[0].pairs, byHand.pairs);
    assert.is(summaries[0].pending, byHand.pending);
    assert.is(summaries[0].cancelled, byHand.cancelled);
    assert.equal(hits.map(toLine), byHand.hits);
    const awk = execFileSync(
      "awk",
      [
        ...["-v", "threshold=200000", "-v", `cancel=${cancel ? 1 : 0}`],
        ...["-f", "bench/wakeup-pairing.awk", `${TRACES}/wakeup.txt`],
      ],
      { encoding: "utf8" },
    )
      .trim()
      .split("\n");
    assert.equal(
      awk.slice(0, -1).map((l) => l.replace(/^hit /, "")),
      byHand.hits,
    );
    assert.is(
      awk.at(-1),
      `pairs ${byHand.pairs} hits ${byHand.hits.length} pending ${byHand.pending} cancelled ${byHand.cancelled}`,
    );
  });
}

test("examples/wakeup.lt on the same workload through perf script (µs, ns) and babeltrace2", async () => {
  const trackers = example("wakeup");
  const micro = await replay(trackers, "wakeup.perf.txt");
  const nano = await replay(trackers, "wakeup.perf-ns.txt");
  const bt = await replay(trackers, "wakeup.bt.txt");
  assert.equal(
    [micro.result.format, nano.result.format, bt.result.format],
    ["perf", "perf", "babeltrace"],
  );
  assert.ok(nano.summaries[0].pairs > 20);
  assert.equal(
    bt.summaries,
    nano.summaries,
    "babeltrace2 and perf script --ns: the same events, exactly",
  );
  // perf script shows no tgid and the CTF no comm: compare what both have.
  const same = (h: HitRecord) => [
    h.key,
    h.latency_ns,
    h.begin.ts_ns,
    h.end?.ts_ns,
    h.begin.tid,
    h.end?.cpu,
  ];
  assert.equal(bt.hits.map(same), nano.hits.map(same));
  assert.is(micro.summaries[0].pairs, nano.summaries[0].pairs);
  for (const [i, hit] of micro.hits.entries()) {
    assert.ok(Math.abs(hit.latency_ns - nano.hits[i].latency_ns) < 1000, "µs rounding only");
  }
  assert.ok(
    nano.hits.some((h) => h.latency_ns % 1000 !== 0),
    "nanoseconds are kept",
  );
});

test("the seven examples replay their recordings, text and byte readers alike", async () => {
  const cases: [string, string][] = [
    ["wakeup", "wakeup.txt"],
    ["syscall", "mixed.txt"],
    ["irq", "mixed.txt"],
    ["offcpu", "mixed.txt"],
    ["block", "block.txt"],
    ["network", "net.txt"],
    ["ttfb", "net.txt"],
  ];
  for (const [name, trace] of cases) {
    const { summaries, result, hits } = await replay(example(name), trace);
    assert.is(result.malformed, 0, `${name}: ${JSON.stringify(result.firstMalformed)}`);
    assert.ok(summaries[0].pairs > 0, `${name} on ${trace}: pairs found`);
    const fast = await replay(example(name), trace, true);
    assert.equal(fast.summaries, summaries, `${name}: the byte scanner gives the same summary`);
    assert.equal(fast.hits, hits, `${name}: the byte scanner gives the same hits`);
  }
});

test("ttfb on the HTTP workload: accept4 → first sendto on that fd, in that process", async () => {
  const [plan] = compileTrackers(
    "track ttfb: sys_exit_accept4($pid, ret) where ret >= 0 -> { sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) } > 1ns",
  );
  const { hits } = await replay([plan], "net.txt");
  assert.is(hits.length, 3, "three requests");
  for (const hit of hits) {
    assert.is(hit.begin.probe, "syscalls:sys_exit_accept4");
    assert.is(hit.end?.probe, "syscalls:sys_enter_sendto");
    assert.is(hit.begin.pid, hit.end?.pid);
    assert.ok(hit.latency_ns < 50_000_000);
  }
});

test.run();
