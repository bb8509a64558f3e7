// Chain trackers and cancel in the reference interpreter: one hand-written ftrace fixture
// per rule of grammar/README.md "Chains" (test/fixtures/traces/chains/), each checked as a
// user reads it (the hit line) and by its counters.

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatHitLine, hitToJson, summaryToJson } from "../../src/records/output.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { MAX_STAGES } from "../../src/replay/chain-tokens.ts";
import { exampleSource } from "../corpus.ts";
import { compileTrackers, ftrace, type RunResult, runLines } from "./support.ts";

const dir = new URL("../fixtures/traces/chains/", import.meta.url);

async function replay(fixture: string, source: string): Promise<RunResult> {
  const lines = readFileSync(new URL(fixture, dir), "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"));
  return runLines(compileTrackers(source), lines);
}

/** The hit lines without their leading timestamp. */
function lines(result: RunResult): string[] {
  return result.hits.map((h) => formatHitLine(h).replace(/^\S+ /, ""));
}

function counters(s: SummaryRecord) {
  const { pairs, hits, timeouts, dropped, pending, broken, cancelled } = s;
  return { pairs, hits, timeouts, dropped, pending, broken, cancelled };
}

const NETRX =
  'track netrx: irq_handler_entry where irq == 24 ~> softirq_entry where vec == 3 ~> sched_switch where next_comm == "reader" > 1us';
const ok = { pairs: 1, hits: 1, timeouts: 0, dropped: 0, pending: 0, broken: 0, cancelled: 0 };

/** [rule, fixture, program, hit lines, counters of the first tracker] */
const rules: [string, string, string, string[], Partial<typeof ok>][] = [
  [
    "softirq raised in an IRQ runs at its exit and takes the raise",
    "softirq-at-irq-exit.txt",
    NETRX,
    [
      "netrx 200us irq24 swapper/0 cpu0 +4us raise NET_RX +8us softirq swapper/0 +38us waking reader-1234 +150us run cpu1",
    ],
    ok,
  ],
  [
    "softirq deferred to ksoftirqd takes the raise too; ksoftirqd's own branch dies quietly",
    "softirq-in-ksoftirqd.txt",
    NETRX,
    [
      "netrx 428us irq24 app cpu0 +4us raise NET_RX +266us softirq ksoftirqd/0 +12us waking reader-1234 +146us run cpu1",
    ],
    ok,
  ],
  [
    "a threaded IRQ is a link: the hard IRQ wakes its thread, the thread wakes the worker",
    "threaded-irq.txt",
    'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us',
    [
      "nvme 100us irq30 app cpu0 +5us waking irq/30-nvme-300 +15us run cpu0 +20us waking worker-400 +60us run cpu1",
    ],
    ok,
  ],
  [
    "an IRQ handled in hard IRQ context (ret 1): its token ends with its scope, the next waking is not its",
    "irq-handled-no-thread.txt",
    'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us',
    [],
    { ...ok, pairs: 0, hits: 0 },
  ],
  [
    "an IRQ tail ended by a softirq before any waking: its token is dropped, the chain broken",
    "irq-tail-closed.txt",
    'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us',
    [],
    { ...ok, pairs: 0, hits: 0, broken: 1 },
  ],
  [
    "waking a task that is already running: a holder at once, the chain ends at the waking",
    "waking-running.txt",
    'track r: irq_handler_entry ~> sched_switch where next_comm == "reader" > 1us',
    ["r 10us irq24 swapper/0 cpu0 +10us waking reader-1234 +0ns run cpu1"],
    ok,
  ],
  [
    "until block: the target is preempted, runs again, and the chain ends when it blocks",
    "preempted-until-block.txt",
    'track r: irq_handler_entry ~> sched_switch where next_comm == "reader" until block > 1us',
    [
      "r 800us irq24 swapper/0 cpu0 +10us waking reader-1234 +90us run cpu1 +200us preempted cpu1 +400us run cpu1 +100us block cpu1",
    ],
    ok,
  ],
  [
    "one softirq wakes two readers: the branch the target's filter picks ends the chain",
    "two-readers.txt",
    "track r2: irq_handler_entry ~> sched_switch where next_pid == 1002 > 1us",
    [
      "r2 150us irq24 swapper/0 cpu0 +2us raise NET_RX +3us softirq swapper/0 +15us waking reader-1002 +130us run cpu1",
    ],
    ok,
  ],
  [
    "one softirq wakes two readers: without a filter the first to run ends it, once",
    "two-readers.txt",
    "track any: irq_handler_entry ~> sched_switch > 1us",
    [
      "any 40us irq24 swapper/0 cpu0 +2us raise NET_RX +3us softirq swapper/0 +5us waking reader-1001 +30us run cpu0",
    ],
    ok,
  ],
  [
    "double waking under keep first: measured from the first origin; the second breaks",
    "double-waking.txt",
    'track f: irq_handler_entry ~> sched_switch where next_comm == "reader" keep first > 1us',
    ["f 300us irq24 swapper/0 cpu0 +10us waking reader-1234 +290us run cpu1"],
    { ...ok, broken: 1 },
  ],
  [
    "double waking under keep last: measured from the second origin; the first breaks",
    "double-waking.txt",
    'track l: irq_handler_entry ~> sched_switch where next_comm == "reader" keep last > 1us',
    ["l 200us irq24 swapper/0 cpu0 +10us waking reader-1234 +190us run cpu1"],
    { ...ok, broken: 1 },
  ],
  [
    "a timeout shows the partial chain: stuck after the waking",
    "timeout-partial.txt",
    'track t: irq_handler_entry ~> sched_switch where next_comm == "reader" timeout 1ms',
    [
      "t TIMEOUT 5ms irq24 swapper/0 cpu0 +4us raise NET_RX +8us softirq swapper/0 +38us waking reader-1234 (no end)",
    ],
    { ...ok, pairs: 0, hits: 0, timeouts: 1 },
  ],
  [
    "-> hands the chain over by a cookie from one thread to another",
    "cookie-handoff.txt",
    'track rpc: irq_handler_entry ~> sys_enter_sendto(fd) -> sys_enter_recvfrom(fd) ~> sched_switch where next_comm == "worker" > 1us',
    [
      "rpc 95us irq24 swapper/0 cpu0 +5us waking client-100 +15us run cpu0 +10us sys_enter_sendto client-100 +50us sys_enter_recvfrom server-200 +10us waking worker-300 +5us run cpu1",
    ],
    ok,
  ],
  [
    "a timer callback inside the APIC timer vector is an origin; the target's filter picks the RT task",
    "hrtimer-in-vector.txt",
    'track timer: hrtimer_expire_entry ~> sched_switch where next_comm == "cyclictest" && next_prio < 100 > 1us',
    ["timer 28us hrtimer_expire_entry swapper/1 cpu1 +2us waking cyclictest-2000 +26us run cpu1"],
    // The other timer's chain lives on in sleeper-3000, which runs at the end: pending.
    { ...ok, pending: 1 },
  ],
  [
    "a tasklet carries the token of the softirq it runs in",
    "tasklet.txt",
    'track uart: irq_handler_entry where irq == 40 ~> sched_switch where next_comm == "reader" > 1us',
    [
      "uart 50us irq40 app cpu0 +2us raise TASKLET +3us softirq app +4us waking reader-1234 +41us run cpu1",
    ],
    ok,
  ],
  [
    "a missed IRQ exit: softirq_entry closes the stale scope, so app-500's later waking carries nothing",
    "missed-irq-exit.txt",
    "track any: irq_handler_entry ~> sched_switch > 1us",
    [
      "any 150us irq24 app cpu0 +4us raise NET_RX +8us softirq app +38us waking reader-1234 +100us run cpu1",
    ],
    ok,
  ],
];

for (const [rule, fixture, source, expected, summary] of rules) {
  test(rule, async () => {
    const result = await replay(fixture, source);
    assert.equal(lines(result), expected);
    assert.equal(counters(result.summaries[0]), { ...ok, ...summary });
  });
}

test("a missed exit is said once, with the count", async () => {
  const { warnings } = await replay(
    "missed-irq-exit.txt",
    "track irq_handler_entry ~> sched_switch",
  );
  assert.equal(warnings, [
    "1 interrupt or softirq scopes were closed without their exit event (missed events, or the trace starts or ends inside one)",
  ]);
});

test("ret printed as the word handled (tracefs text) hides an IRQ tail: said once, with the count", async () => {
  const NVME =
    'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us';
  for (const numbered of ["threaded-irq.txt", "irq-handled-no-thread.txt"]) {
    assert.equal((await replay(numbered, NVME)).warnings, [], numbered);
  }
  const worded = readFileSync(new URL("threaded-irq.txt", dir), "utf8")
    .replace("irq=30 ret=2", "irq=30 ret=handled")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"));
  const result = await runLines(compileTrackers(NVME), worded);
  assert.equal(lines(result), []);
  assert.equal(result.warnings, [
    "1 IRQ handler exits ending a chain's IRQ scope print ret=handled, which is also what a threaded IRQ waking its thread (IRQ_WAKE_THREAD) prints: such a chain is not followed to the IRQ's thread (ltsh record writes the number)",
  ]);
});

test("cancel: a wakeup of a running task is forgotten when it is switched out", async () => {
  const result = await replay(
    "cancel-wakeup.txt",
    `track plain: sched_wakeup(pid) -> sched_switch(next_pid) > 1us
     track fixed: sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) > 1us`,
  );
  const [plain, fixed] = result.hits;
  assert.is(plain.latency_ns, 10_930_000, "inflated: from the wakeup of the running task");
  assert.is(fixed.latency_ns, 30_000, "from the real wakeup");
  assert.is(result.summaries[0].cancelled, 0);
  assert.is(result.summaries[1].cancelled, 1);
  assert.is(result.summaries[1].pairs, 1);
});

// examples/wakeup.lt itself: a task woken while it still runs, then switched out blocked (S)
// or preempted (R+); without its cancel line the example reports the wait as a hit. Blocked,
// the stale begin also hides the real wakeup (keep first): 1 pair; preempted, the switch-in
// after the preemption takes it, and the real wakeup pairs on its own: 2 pairs.
for (const [fixture, inflatedNs, realNs, pairsWithout] of [
  ["cancel-wakeup.txt", 10_930_000, 30_000, 1],
  ["cancel-wakeup-preempted.txt", 5_400_000, 40_000, 2],
] as const) {
  test(`examples/wakeup.lt on ${fixture}: the wakeup of the running task is cancelled at its switch-out`, async () => {
    const example = exampleSource("wakeup.lt");
    const fixed = await replay(fixture, example);
    assert.equal(lines(fixed), [], "no hit: the real wakeup waited under 200us");
    assert.equal(counters(fixed.summaries[0]), { ...ok, hits: 0, cancelled: 1 });
    assert.is(fixed.summaries[0].max_ns, realNs);
    const withoutCancel = example.replace(/^ *cancel .*\n/m, "");
    assert.is.not(withoutCancel, example);
    const inflated = await replay(fixture, withoutCancel);
    assert.equal(
      inflated.hits.map((h) => h.latency_ns),
      [inflatedNs],
      "without cancel: paired with the switch-in after the wait",
    );
    assert.is(inflated.summaries[0].pairs, pairsWithout);
  });
}

test("-> hands the chain over before its holder blocks: memcached-log's request spans the blocked write", async () => {
  const demo = readFileSync(
    new URL("../../examples/demos/memcached-log.chain.lt", import.meta.url),
    "utf8",
  );
  const result = await replay("handoff-across-block.txt", demo);
  assert.equal(lines(result), [
    "logwrite 40ms key=800 (mc-worker) mc-worker-800/790 cpu1 -> mc-worker-800/790 cpu1",
    "request 40.1ms NET_RX MainThread cpu0 +0ns raise NET_RX +3us softirq MainThread +7us waking mc-worker-800 +30us run cpu1 +10us sys_exit_read mc-worker-800 +40ms sys_enter_sendmsg mc-worker-800",
  ]);
  assert.equal(counters(result.summaries[0]), ok, "not broken by the block");
  const [toRead, toSend] = result.summaries[0].segments ?? [];
  assert.equal([toRead?.max_ns, toSend?.max_ns], [50_000, 40_030_000], "the time is read -> send");
});

test("cancel with a filter forgets only what the filter lets through", async () => {
  const result = await replay(
    "cancel-wakeup.txt",
    "track t: sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) where prev_state == 0",
  );
  assert.is(result.summaries[0].cancelled, 0, "task-42 blocked (S), not preempted");
  assert.is(result.summaries[0].max_ns, 10_930_000);
});

test("cancel on a chain ends the chain held where its probe fires, counted", async () => {
  const cancelled = await replay(
    "softirq-at-irq-exit.txt",
    `${NETRX.replace(" > 1us", "")} cancel softirq_exit where vec == 3`,
  );
  assert.equal(lines(cancelled), []);
  assert.equal(counters(cancelled.summaries[0]), { ...ok, pairs: 0, hits: 0, cancelled: 1 });
  const filtered = await replay(
    "softirq-at-irq-exit.txt",
    `${NETRX} cancel softirq_exit where vec == 2`,
  );
  assert.equal(counters(filtered.summaries[0]), ok);
});

test("NDJSON: chain stages in order, durations adding up to the latency; new summary fields", async () => {
  const result = await replay("softirq-at-irq-exit.txt", NETRX);
  const hit = JSON.parse(hitToJson(result.hits[0]));
  assert.equal(Object.keys(hit).slice(-1), ["chain"]);
  assert.equal(Object.keys(hit.chain[0]), [
    "stage",
    "probe",
    "ts_ns",
    "cpu",
    "tid",
    "pid",
    "comm",
    "dur_ns",
    "detail",
  ]);
  assert.equal(
    hit.chain.map((s: { stage: string }) => s.stage),
    ["origin", "raise", "softirq", "waking", "run"],
  );
  const sum = hit.chain.reduce((a: number, s: { dur_ns: number }) => a + s.dur_ns, 0);
  assert.is(sum, hit.latency_ns);
  assert.is(hit.chain[0].ts_ns, 100_000_000_000);
  assert.equal(hit.begin.probe, "irq:irq_handler_entry");
  assert.equal(hit.end.probe, "sched:sched_switch");
  assert.equal(hit.key, []);
  const summary = JSON.parse(summaryToJson(result.summaries[0]));
  assert.equal(Object.keys(summary).slice(-3), ["cancelled", "broken", "segments"]);
  assert.equal(
    summary.segments.map((s: { from: string; to: string; max_ns: number }) => [
      s.from,
      s.to,
      s.max_ns,
    ]),
    [
      ["irq_handler_entry", "softirq_entry", 12_000],
      ["softirq_entry", "sched_switch", 188_000],
    ],
  );
});

test("until block adds the target -> block segment", async () => {
  const result = await replay(
    "preempted-until-block.txt",
    'track r: irq_handler_entry ~> sched_switch where next_comm == "reader" until block',
  );
  assert.equal(
    result.summaries[0].segments?.map((s) => [s.from, s.to, s.max_ns]),
    [
      ["irq_handler_entry", "sched_switch", 100_000],
      ["sched_switch", "block", 700_000],
    ],
  );
});

test("capacity bounds every copy: a branch that does not fit is dropped and counted", async () => {
  const result = await replay(
    "double-waking.txt",
    'track c: irq_handler_entry ~> sched_switch where next_comm == "reader" capacity 1',
  );
  const s = result.summaries[0];
  // Each origin's token fills the one slot while it is in its IRQ: the copy to reader-1234
  // does not fit (dropped), and the chain breaks when the IRQ ends.
  assert.equal(counters(s), { ...ok, pairs: 0, hits: 0, dropped: 2, broken: 2 });
});

test("a holder preempted again and again keeps at most MAX_STAGES stages, still adding up", async () => {
  const at = (us: number) => `9.${String(us).padStart(6, "0")}`;
  const swap = (us: number, prev: string, next: string, state: string) => {
    const [prevComm, prevPid] = prev.split("-");
    const [nextComm, nextPid] = next.split("-");
    return ftrace(
      at(us),
      1,
      prev,
      "sched_switch",
      `prev_comm=${prevComm} prev_pid=${prevPid} prev_prio=120 prev_state=${state} ==> next_comm=${nextComm} next_pid=${nextPid} next_prio=120`,
    );
  };
  const lines = [
    ftrace(at(1), 0, "<idle>-0", "irq_handler_entry", "irq=24 name=eth0"),
    ftrace(at(2), 0, "<idle>-0", "sched_waking", "comm=reader pid=1234 prio=120 target_cpu=001"),
    ftrace(at(3), 0, "<idle>-0", "irq_handler_exit", "irq=24 ret=handled"),
  ];
  let us = 10;
  for (let i = 0; i < 100; i++) {
    lines.push(swap(us++, i === 0 ? "<idle>-0" : "hog-77", "reader-1234", "R"));
    lines.push(swap(us++, "reader-1234", "hog-77", "R+"));
  }
  lines.push(swap(us++, "hog-77", "reader-1234", "R"));
  lines.push(swap(us++, "reader-1234", "<idle>-0", "S"));
  const { hits } = await runLines(
    compileTrackers(
      'track r: irq_handler_entry ~> sched_switch where next_comm == "reader" until block',
    ),
    lines.map((l) => l.replace("<idle>-0-0", "<idle>-0")),
  );
  assert.is(hits.length, 0, "no threshold: no hits");
  const withHits = await runLines(
    compileTrackers(
      'track r: irq_handler_entry ~> sched_switch where next_comm == "reader" until block > 1us',
    ),
    lines,
  );
  const [hit] = withHits.hits;
  assert.is(hit.chain!.length, MAX_STAGES);
  assert.is(
    hit.chain!.reduce((a, s) => a + s.dur_ns, 0),
    hit.latency_ns,
  );
  assert.equal(
    hit.chain!.slice(-2).map((s) => s.stage),
    ["run", "block"],
  );
});

test("a chain hit's line names its snapshot", () => {
  const [hit]: HitRecord[] = [
    {
      type: "hit",
      tracker: "t",
      kind: "threshold",
      latency_ns: 5000,
      key: [],
      begin: {
        probe: "irq:irq_handler_entry",
        ts_ns: 1_000_000_000n,
        cpu: 0,
        tid: 0,
        pid: 0,
        comm: "<idle>",
      },
      end: {
        probe: "sched:sched_switch",
        ts_ns: 1_000_005_000n,
        cpu: 1,
        tid: 7,
        pid: -1,
        comm: "r",
      },
      snapshot: "snapshots/t-1000005000.txt",
      stack: null,
      chain: [
        {
          stage: "origin",
          probe: "irq:irq_handler_entry",
          ts_ns: 1_000_000_000n,
          cpu: 0,
          tid: 0,
          pid: 0,
          comm: "<idle>",
          dur_ns: 0,
          detail: "irq24",
        },
        {
          stage: "run",
          probe: "sched:sched_switch",
          ts_ns: 1_000_005_000n,
          cpu: 1,
          tid: 7,
          pid: -1,
          comm: "r",
          dur_ns: 5000,
          detail: "",
        },
      ],
    },
  ];
  assert.is(
    formatHitLine(hit),
    "1.000005000 t 5us irq24 swapper/0 cpu0 +5us run cpu1 snapshot=snapshots/t-1000005000.txt",
  );
});

test("a plain tracker's summary reports cancelled and broken as 0", async () => {
  const result = await replay(
    "cancel-wakeup.txt",
    "track sched_wakeup(pid) -> sched_switch(next_pid)",
  );
  const summary = JSON.parse(summaryToJson(result.summaries[0]));
  assert.is(summary.cancelled, 0);
  assert.is(summary.broken, 0);
  assert.is(summary.segments, undefined);
});

test.run();
