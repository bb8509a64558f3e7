// Invariants of chain trackers over random but consistent traces (fast-check): stage
// durations add up to the latency; a chain's waking→run link is what the plain
// `sched_waking(pid) -> sched_switch(next_pid)` tracker measures on the same events; the
// token copies never exceed the capacity.

import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";
import { compileTrackers, ftrace, type RunResult, runLines } from "./support.ts";

type Action = {
  kind: "irq" | "switch" | "wake";
  cpu: number;
  pick: number;
  gap: number;
  preempt: boolean;
};

const action = fc.record({
  kind: fc.constantFrom("irq", "switch", "wake"),
  cpu: fc.constantFrom(0, 1),
  pick: fc.nat(1000),
  gap: fc.integer({ min: 1, max: 300 }),
  preempt: fc.boolean(),
});

const TASKS = [101, 102, 103, 104, 105, 106];

/**
 * Turns random actions into a trace a kernel could print on 2 CPUs: interrupts that may
 * raise NET_RX (run at their exit) and wake a task, tasks that wake others, context
 * switches that preempt or block. A waking never targets a running task.
 */
function simulate(actions: Action[]): string[] {
  const state = new Map<number, "sleep" | "runnable" | "running">(TASKS.map((t) => [t, "sleep"]));
  const current = [0, 0];
  const lines: string[] = [];
  let us = 1_000_000;
  const at = () => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, "0")}`;
  const task = (cpu: number) =>
    current[cpu] === 0 ? "<idle>-0" : `t${current[cpu]}-${current[cpu]}`;
  const emit = (cpu: number, event: string, payload: string) => {
    lines.push(ftrace(at(), cpu, task(cpu), event, payload));
    us += 1;
  };
  const wake = (cpu: number, pick: number) => {
    const candidates = TASKS.filter((t) => state.get(t) !== "running");
    if (candidates.length === 0) return;
    const woken = candidates[pick % candidates.length];
    state.set(woken, "runnable");
    emit(cpu, "sched_waking", `comm=t${woken} pid=${woken} prio=120 target_cpu=00${cpu}`);
  };
  for (const { kind, cpu, pick, gap, preempt } of actions) {
    us += gap;
    if (kind === "irq") {
      emit(cpu, "irq_handler_entry", "irq=24 name=eth0");
      const raise = pick % 2 === 0;
      if (raise) emit(cpu, "softirq_raise", "vec=3 [action=NET_RX]");
      if (pick % 3 === 0) wake(cpu, pick);
      emit(cpu, "irq_handler_exit", "irq=24 ret=handled");
      if (raise) {
        emit(cpu, "softirq_entry", "vec=3 [action=NET_RX]");
        wake(cpu, pick >> 2);
        emit(cpu, "softirq_exit", "vec=3 [action=NET_RX]");
      }
    } else if (kind === "wake") {
      if (current[cpu] !== 0) wake(cpu, pick);
    } else {
      const prev = current[cpu];
      const runnable = TASKS.filter((t) => state.get(t) === "runnable");
      const next = runnable.length > 0 ? runnable[pick % runnable.length] : 0;
      if (prev !== 0) state.set(prev, preempt ? "runnable" : "sleep");
      if (next !== 0) state.set(next, "running");
      const prevComm = prev === 0 ? `swapper/${cpu}` : `t${prev}`;
      const nextComm = next === 0 ? `swapper/${cpu}` : `t${next}`;
      emit(
        cpu,
        "sched_switch",
        `prev_comm=${prevComm} prev_pid=${prev} prev_prio=120 prev_state=${preempt ? "R+" : "S"} ==> next_comm=${nextComm} next_pid=${next} next_prio=120`,
      );
      current[cpu] = next;
    }
  }
  return lines;
}

const traces = fc.array(action, { minLength: 1, maxLength: 120 }).map(simulate);

const CHAINS = compileTrackers(`
  track netrx: irq_handler_entry ~> softirq_entry ~> sched_switch until block > 1ns timeout 2ms
  track irq: irq_handler_entry ~> sched_switch > 1ns
  track wake: sched_waking ~> sched_switch keep last > 1ns
  track plain: sched_waking(pid) -> sched_switch(next_pid) keep last > 1ns
`);

function run(lines: string[]): Promise<RunResult> {
  return runLines(CHAINS, lines);
}

test("stage durations add up exactly to the latency of every pair", async () => {
  await fc.assert(
    fc.asyncProperty(traces, async (lines) => {
      const { hits } = await run(lines);
      for (const hit of hits) {
        if (!hit.chain || hit.kind === "timeout") continue;
        const sum = hit.chain.reduce((a, s) => a + s.dur_ns, 0);
        assert.is(
          sum,
          hit.latency_ns,
          `${hit.tracker}: ${JSON.stringify(hit.chain.map((s) => s.stage))}`,
        );
        assert.is(hit.chain[0].stage, "origin");
        assert.ok(hit.chain.every((s) => s.dur_ns >= 0));
      }
    }),
    { numRuns: 200 },
  );
});

test("the waking→run link is what sched_waking(pid) -> sched_switch(next_pid) measures", async () => {
  await fc.assert(
    fc.asyncProperty(traces, async (lines) => {
      const { hits } = await run(lines);
      const plain = new Map<string, number>();
      for (const hit of hits) {
        if (hit.tracker === "plain") plain.set(`${hit.key[0]}@${hit.end!.ts_ns}`, hit.latency_ns);
      }
      for (const hit of hits) {
        if (hit.tracker !== "wake" || !hit.chain) continue;
        const [waking, run] = hit.chain.slice(-2);
        if (waking.stage !== "waking" || run.stage !== "run") continue;
        assert.is(plain.get(`${run.tid}@${run.ts_ns}`), run.dur_ns, `${run.tid} at ${run.ts_ns}`);
      }
    }),
    { numRuns: 200 },
  );
});

test("token copies stay within the capacity", async () => {
  const trackers = compileTrackers(`
    track c: irq_handler_entry ~> sched_switch capacity 3
    track w: sched_waking ~> sched_switch capacity 2 keep last
  `);
  await fc.assert(
    fc.asyncProperty(traces, async (lines) => {
      const interpreter = new Interpreter({
        hit: () => {},
        warning: () => {},
      });
      for (const t of trackers) interpreter.add(t);
      lines.forEach((line, i) => {
        const event = parseFtraceLine(line, i + 1);
        if (event === null || typeof event === "string") throw new Error(`${event}: ${line}`);
        interpreter.feed(event);
        assert.ok(interpreter.liveTokens("c")! <= 3);
        assert.ok(interpreter.liveTokens("w")! <= 2);
      });
    }),
    { numRuns: 200 },
  );
});

test("the random traces exercise the rules (not a vacuous pass)", async () => {
  const sample = fc.sample(traces, { numRuns: 200, seed: 7 });
  let stages = new Set<string>();
  let wakeHits = 0;
  for (const lines of sample) {
    const { hits } = await run(lines);
    for (const hit of hits) {
      for (const s of hit.chain ?? []) stages.add(s.stage);
      if (hit.tracker === "wake") wakeHits++;
    }
  }
  stages = new Set([...stages].sort());
  assert.ok(wakeHits > 10, `${wakeHits} wake hits`);
  for (const kind of ["origin", "raise", "softirq", "waking", "run", "preempted", "block"]) {
    assert.ok(stages.has(kind), `no ${kind} stage in ${[...stages].join(", ")}`);
  }
});

test.run();
