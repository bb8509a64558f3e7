// The kmod chain runtime (kmod-runtime/lt_chain.c) against the replay reference: random
// traces of a 2-CPU world (IRQs, softirq raises and runs, wakings, context switches, a
// cancelling syscall) go to the replay interpreter as ftrace lines and, as the events a
// generated probe would describe, to kmod-runtime/test/chain_driver (AddressSanitizer).
// Every hit (kind, latency, each stage's kind, tid, CPU and time) and the counters must match.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { STAGE_KINDS } from "../src/compiler/bpf/chain-layout.ts";
import { compileSource } from "../src/compiler/compile.ts";
import type { TrackerPlan } from "../src/compiler/plan.ts";
import type { HitRecord } from "../src/records/types.ts";
import type { TraceEvent } from "../src/replay/event.ts";
import { compileExpr, truthy } from "../src/replay/expr.ts";
import { eventFields, taskStateFromText } from "../src/replay/fields.ts";
import { parseFtraceLine } from "../src/replay/formats.ts";
import { Interpreter } from "../src/replay/interpreter.ts";
import { runtimeTests, sanitizerSkipReason } from "./kmod-runtime-support.ts";

const DRIVER = `${runtimeTests}/build/asan/chain_driver`;

const PROGRAMS = {
  lo: `track m: softirq_raise where vec == 3 ~> sched_switch where next_comm == "r1"
    > 1ns capacity 6 timeout 1ms`,
  block: `track m: irq_handler_entry where irq == 24 ~> softirq_entry where vec == 3
    ~> sched_switch where next_comm == "r1" until block > 1ns timeout 400us`,
  handoff: `track m: softirq_raise where vec == 3 ~> sched_switch where next_comm == "r1"
    ~> sys_enter_getpid($tid) -> sys_enter_getppid($tid) > 1ns timeout 2ms`,
  // the origin hands off by key at once (a task's syscall, then a raise on its CPU), as a
  // USDT probe does in test/vm/chain-uprobes.ts: to the runtime both are events of a context
  origin_key: `track m: sys_enter_getppid($cpu) -> softirq_raise($cpu) ~> softirq_entry
    > 1ns timeout 2ms`,
  last: `track m: softirq_raise where vec == 3 ~> sched_switch where next_comm == "r2"
    keep last capacity 4 > 1ns cancel sys_enter_getpid where comm == "r1"`,
};

/** LT_CHAIN_EV_* of kmod-runtime/lt_chain.h. */
const KIND = { irq_handler_entry: 1, irq_handler_exit: 2, softirq_entry: 3, softirq_exit: 4 };
const RAISE = 13;
const WAKING = 14;
const SWITCH = 15;
const COMMS: Record<number, string> = { 10: "snd", 11: "r1", 12: "r2", 13: "w" };

interface World {
  ts: number;
  running: number[];
  scopes: string[][];
  /** An IRQ_WAKE_THREAD exit was the CPU's last event: its thread's waking is likely next. */
  tails: boolean[];
}

function rand(seed: { s: number }, n: number): number {
  seed.s = (seed.s * 1103515245 + 12345) % 2147483648;
  return seed.s % n;
}

/** One random event as an ftrace line, and its driver fields (kind, arg, prev pid/state). */
function randomEvent(w: World, seed: { s: number }): { cpu: number; line: string } {
  const cpu = rand(seed, 2);
  const tid = w.running[cpu];
  const comm = tid === 0 ? `swapper/${cpu}` : COMMS[tid];
  w.ts += 1 + rand(seed, 60);
  const sec = Math.floor(w.ts / 1e6);
  const usec = String(w.ts % 1e6).padStart(6, "0");
  const head = `${`${comm}-${tid}`.padStart(16)} [00${cpu}] ..... ${sec}.${usec}: `;
  const scopes = w.scopes[cpu];
  const tail = w.tails[cpu];
  w.tails[cpu] = false;
  const roll = tail && rand(seed, 4) > 0 ? 50 : rand(seed, 100);
  const irq = [24, 30][rand(seed, 2)];
  const vec = [3, 3, 1][rand(seed, 3)];
  const action = vec === 3 ? "NET_RX" : "TIMER";
  if (roll < 10) {
    scopes.splice(scopes.indexOf(`irq${irq}`) >= 0 ? scopes.indexOf(`irq${irq}`) : scopes.length);
    scopes.push(`irq${irq}`);
    return { cpu, line: `${head}irq_handler_entry: irq=${irq} name=dev` };
  }
  if (roll < 18) {
    const top = scopes.findLastIndex((s) => s.startsWith("irq"));
    const n = top >= 0 ? Number(scopes[top].slice(3)) : irq;
    if (top >= 0) scopes.splice(top);
    // IRQ_WAKE_THREAD (ret=2) makes an IRQ tail that the next waking on the CPU takes
    const ret = rand(seed, 2) === 0 ? "2" : "handled";
    w.tails[cpu] = ret === "2";
    return { cpu, line: `${head}irq_handler_exit: irq=${n} ret=${ret}` };
  }
  if (roll < 32) return { cpu, line: `${head}softirq_raise: vec=${vec} [action=${action}]` };
  if (roll < 42) {
    scopes.splice(0, scopes.length, `softirq${vec}`);
    return { cpu, line: `${head}softirq_entry: vec=${vec} [action=${action}]` };
  }
  if (roll < 50) {
    const top = scopes.findLastIndex((s) => s.startsWith("softirq"));
    if (top >= 0) scopes.splice(top);
    return { cpu, line: `${head}softirq_exit: vec=${vec} [action=${action}]` };
  }
  if (roll < 70) {
    const pid = 11 + rand(seed, 3);
    return {
      cpu,
      line: `${head}sched_waking: comm=${COMMS[pid]} pid=${pid} prio=120 target_cpu=00${cpu}`,
    };
  }
  if (roll < 72) return { cpu, line: `${head}sys_getpid()` };
  if (roll < 74) return { cpu, line: `${head}sys_getppid()` };
  const others = [0, 10, 11, 12, 13].filter((t) => t === 0 || !w.running.includes(t));
  const next = others[rand(seed, others.length)];
  const state = ["R", "S", "R+", "D"][rand(seed, 4)];
  const nextComm = next === 0 ? `swapper/${cpu}` : COMMS[next];
  w.running[cpu] = next;
  scopes.splice(0);
  return {
    cpu,
    line: `${head}sched_switch: prev_comm=${comm} prev_pid=${tid} prev_prio=120 prev_state=${state} ==> next_comm=${nextComm} next_pid=${next} next_prio=120`,
  };
}

/** The driver's line for an event: what the generated probe would fill in. */
function driverLine(event: TraceEvent, plan: TrackerPlan, filters: Filters): string {
  const f = eventFields(event);
  const num = (name: string) => Number(f?.get(name) ?? 0);
  const view = { event, fields: () => f };
  const id = `${event.category || categoryOf(event.name)}:${event.name}`;
  let steps = 0;
  plan.chain!.steps.forEach((s, k) => {
    if (s.side.probe.id === id && (filters.steps[k] === null || truthy(filters.steps[k]!(view))))
      steps |= 1 << k;
  });
  const cancel = (plan.cancels ?? []).some(
    (c, i) =>
      c.probe.id === id && (filters.cancels[i] === null || truthy(filters.cancels[i]!(view))),
  );
  let kind = KIND[event.name as keyof typeof KIND] ?? 0;
  let arg = num(event.name.startsWith("irq") ? "irq" : "vec");
  let prev = [0, 0];
  let other = "-";
  if (event.name === "softirq_raise") kind = RAISE;
  if (event.name === "sched_waking") [kind, arg, other] = [WAKING, num("pid"), f!.get("comm")!];
  if (event.name === "irq_handler_exit") prev = [0, num("ret")];
  if (event.name === "sched_switch") {
    prev = [num("prev_pid"), Number(taskStateFromText(f!.get("prev_state")!))];
    [kind, arg, other] = [SWITCH, num("next_pid"), f!.get("next_comm")!];
  }
  const ts = event.sec * 1e9 + event.nsec;
  const keys = plan.chain!.steps.map((_, k) => {
    const key = filters.keys[k];
    return key && steps & (1 << k) ? Number(key(view)) : 0;
  });
  return `event ${ts} ${event.cpu} ${event.tid} ${event.tid} ${event.comm} ${kind} ${arg} ${steps} ${cancel ? 1 : 0} ${prev[0]} ${prev[1]} ${other} ${keys.join(" ")}`;
}

function categoryOf(name: string): string {
  if (name.startsWith("sched_")) return "sched";
  if (name.startsWith("sys_")) return "syscalls";
  return "irq";
}

interface Filters {
  steps: (ReturnType<typeof compileExpr> | null)[];
  /** Each step's one key expression (`->`), if any. */
  keys: (ReturnType<typeof compileExpr> | null)[];
  cancels: (ReturnType<typeof compileExpr> | null)[];
}

function planOf(text: string): TrackerPlan {
  const { plan, diagnostics } = compileSource(text, "model.lt", { backend: "kmod" });
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return plan.trackers[0];
}

function configLine(plan: TrackerPlan): string {
  const chain = plan.chain!;
  const bits = (f: (k: number) => boolean) =>
    chain.steps.reduce((m, _, k) => (k > 0 && f(k) ? m | (1 << k) : m), 0);
  const switches = bits((k) => chain.steps[k].side.probe.id === "sched:sched_switch");
  const keys = bits((k) => chain.steps[k].via === "key");
  return `config ${chain.steps.length} ${switches} ${keys} ${chain.until === "block" ? 1 : 0} ${plan.capacity} ${plan.keep === "last" ? 1 : 0} ${plan.thresholdNs ?? 0} ${plan.timeoutNs ?? 0}`;
}

const shape = (kind: string, latency: number, stages: string[]) =>
  `${kind} ${latency}: ${stages.join(", ")}`;

function replayShapes(plan: TrackerPlan, lines: string[]) {
  const hits: HitRecord[] = [];
  const interpreter = new Interpreter({ hit: (h) => hits.push(h), warning: () => {} });
  interpreter.add(plan);
  const events: TraceEvent[] = [];
  lines.forEach((line, i) => {
    const event = parseFtraceLine(line, i + 1);
    if (event === null || typeof event === "string") throw new Error(`${event}: ${line}`);
    const { sec, nsec, cpu, tid, comm, name, category, payload } = event;
    events.push({ ...event, sec, nsec, cpu, tid, comm, name, category, payload });
    interpreter.feed(event);
  });
  interpreter.finish("model.txt");
  const s = interpreter.summaries()[0];
  const shapes = hits.map((h) =>
    shape(
      h.kind === "timeout" ? "2" : "1",
      h.latency_ns,
      h.chain!.map((st) => `${st.stage} ${st.tid} cpu${st.cpu} ${st.ts_ns}`),
    ),
  );
  const stats = `pairs=${s.pairs} hits=${s.hits} timeouts=${s.timeouts} dropped=${s.dropped} cancelled=${s.cancelled} broken=${s.broken} pending=${s.pending}`;
  return { shapes, stats, events, long: hits.some((h) => h.chain!.length > 16) };
}

function driverShapes(input: string) {
  const run = spawnSync(DRIVER, { input, encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  const shapes: string[] = [];
  let stats = "";
  const lines = run.stdout.trim().split("\n");
  for (let i = 0; i < lines.length; i++) {
    const [what, ...f] = lines[i].split(" ");
    if (what === "stats") stats = f.join(" ");
    if (what !== "hit") continue;
    const stages = lines.slice(i + 1, i + 1 + Number(f[2])).map((l) => {
      const [, kind, , tid, cpu, ts] = l.split(" ");
      return `${STAGE_KINDS[Number(kind)]} ${tid} cpu${cpu} ${ts}`;
    });
    shapes.push(shape(f[0], Number(f[1]), stages));
  }
  return { shapes, stats };
}

const skip = sanitizerSkipReason();
const build = skip
  ? null
  : spawnSync("make", ["-s", "-C", runtimeTests, "driver"], { encoding: "utf8" });

for (const [name, text] of skip ? [] : Object.entries(PROGRAMS)) {
  test(`kmod chain runtime = replay reference on random traces: ${name}`, () => {
    assert.is(build?.status, 0, build?.stderr);
    const plan = planOf(text);
    const filters: Filters = {
      steps: plan.chain!.steps.map((s) =>
        s.side.filter ? compileExpr(s.side.filter, () => {}) : null,
      ),
      cancels: (plan.cancels ?? []).map((c) => (c.filter ? compileExpr(c.filter, () => {}) : null)),
      keys: plan.chain!.steps.map((s) =>
        s.side.key[0] ? compileExpr(s.side.key[0], () => {}) : null,
      ),
    };
    let compared = 0;
    let hits = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const world: World = {
        ts: 100_000_000,
        running: [10, 0],
        scopes: [[], []],
        tails: [false, false],
      };
      const rng = { s: seed };
      const lines = Array.from({ length: 200 }, () => randomEvent(world, rng).line);
      const reference = replayShapes(plan, lines);
      if (reference.long) continue; // past the 16 stages a kmod token keeps
      const input = [configLine(plan)];
      for (const event of reference.events) {
        input.push(`expire ${event.sec * 1e9 + event.nsec}`, driverLine(event, plan, filters));
      }
      const ours = driverShapes(`${input.join("\n")}\n`);
      if (process.env.LTSH_CHAIN_DEBUG === String(seed)) {
        console.log(lines.slice(0, 40).join("\n"));
        console.log(input.slice(0, 80).join("\n"));
      }
      assert.equal(ours.shapes, reference.shapes, `seed ${seed}`);
      assert.is(ours.stats, reference.stats, `seed ${seed}`);
      compared++;
      hits += ours.shapes.length;
    }
    assert.ok(compared >= 20 && hits >= compared, `${compared} traces, ${hits} hits compared`);
  });
}

if (skip) console.log(`  skip kmod-chain-model: ${skip}`);
test.run();
