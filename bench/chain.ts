// What a chain tracker's programs cost in the kernel (bpf_stats: mean time per run), under
// `perf bench sched pipe` pinned to one CPU, next to the empty-program floor on the same
// tracepoints:
// - "idle": a chain whose origin never fires: every sched_switch / sched_waking run is an
//   event that does not move a chain (the scope, holder and filter work only);
// - "moving": a chain started by each write of the benchmark (`sys_enter_write` in its task),
//   carried by the waking of the reader and ended when the reader runs: every waking and
//   nearly every switch moves a chain.
// Pairs of "moving" are about one per loop, not one per write (2 per loop): a write pairs
// only when it wakes the other side asleep in read(). On one CPU the woken side mostly
// preempts the writer before it reads again, so the woken side's own write finds the writer
// runnable (no waking: its chain ends at its block, not counted) and the writer then reads
// without sleeping. Replay of a recording of the benchmark gives the same count (1154 pairs
// for 1000 loops): the semantics, not the backend.
// Rounds interleaved, medians printed. Then the end-to-end cost (bench/chain-e2e.ts): a
// loopback request/response server, and memcached, each answering 10,000 requests, untraced
// against traced by the `lo`-style chain, in 2 × ROUNDS interleaved rounds. Run as root:
//   node --import tsx bench/chain.ts [ROUNDS] [--write]   (--write: the `## chain` section
//   of BENCHMARKS.md, through bench/benchmarks-md.ts)

import { execFileSync } from "node:child_process";
import { compileSource } from "../src/compiler/compile.ts";
import { LiveSession } from "../src/session/live.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import {
  CONFIGS,
  type Config,
  type EndToEnd,
  endToEnd,
  LO_CHAIN,
  loPlan,
  MC_CHAIN,
  REQUESTS,
  rrWorkload,
} from "./chain-e2e.ts";
import { machineInfo, perfBench, withBpfStats, withEmptyPrograms } from "./live-measure.ts";

const args = process.argv.slice(2);
const write = args.includes("--write");
const rounds = Number(args.find((a) => a !== "--write") ?? 5);
const LOOPS = 50_000;
// the origin's tracepoint too: creating a chain is an event that moves one
const TRACEPOINTS = ["sched:sched_switch", "sched:sched_waking", "syscalls:sys_enter_write"];

const trackers = {
  idle: "track idle: softirq_raise where vec == 99 ~> sched_switch",
  moving: `track moving: sys_enter_write where comm == "sched-pipe"
    ~> sched_switch where next_comm == "sched-pipe"`,
};

type Costs = Record<string, number>;

const pairCounts: number[] = [];
const missedCounts: Record<string, number[]> = { idle: [], moving: [] };

interface ProgEntry {
  id: number;
  run_time_ns?: number;
  run_cnt?: number;
}

function progStats(): Map<number, { ns: number; runs: number }> {
  const out = execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" });
  return new Map(
    (JSON.parse(out) as ProgEntry[]).map((p) => [
      p.id,
      { ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 },
    ]),
  );
}

/** This process's programs by tracepoint, from `bpftool perf show`. */
function ourPrograms(): Map<string, number> {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  const entries = JSON.parse(out) as { pid: number; prog_id: number; tracepoint?: string }[];
  return new Map(
    entries
      .filter((e) => e.pid === process.pid && e.tracepoint)
      .map((e) => [e.tracepoint!, e.prog_id]),
  );
}

/** Mean ns per run of each program (by tracepoint) while the workload runs (perf bench). */
function measure(programs: Map<string, number>, workload = () => perfBench(LOOPS)): Costs {
  const before = progStats();
  workload();
  const after = progStats();
  const costs: Costs = {};
  for (const [tp, id] of programs) {
    const a = after.get(id);
    const b = before.get(id) ?? { ns: 0, runs: 0 };
    if (a && a.runs > b.runs) costs[tp] = (a.ns - b.ns) / (a.runs - b.runs);
  }
  return costs;
}

async function chainCosts(source: string): Promise<Costs> {
  const { plan } = compileSource(source, "bench.lt", { backend: "ebpf" });
  if (!plan) throw new Error(`does not compile: ${source}`);
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    return measure(ourPrograms());
  } finally {
    const [summary] = await session.close();
    if (summary.tracker === "moving") pairCounts.push(summary.pairs);
    missedCounts[summary.tracker]?.push(summary.missed);
    process.stderr.write(`${summary.tracker}: ${summary.pairs} pairs, ${summary.missed} missed\n`);
  }
}

/**
 * The `lo` chain's program time per request of the end-to-end workload (bpf_stats: the
 * kernel time its programs take, whatever else the machine does), against the request's own
 * on-CPU time untraced: the part of the end-to-end overhead that is ltsh's code.
 */
async function rrProgramTime(rounds: number): Promise<{ programUs: number; cpuUs: number }> {
  const workload = rrWorkload();
  const program: number[] = [];
  const cpu: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      cpu.push(workload.run().cpu);
      const plan = loPlan();
      const session = LiveSession.open({
        options: plan.options,
        listener: { hit: () => {}, warning: () => {} },
      });
      try {
        for (const t of plan.trackers) await session.add(t);
        const programs = ourPrograms();
        const before = progStats();
        workload.run();
        const after = progStats();
        let ns = 0;
        for (const id of programs.values()) ns += after.get(id)!.ns - (before.get(id)?.ns ?? 0);
        program.push(ns / REQUESTS);
      } finally {
        await session.close();
      }
    }
  } finally {
    workload.remove();
  }
  return { programUs: median(program) / 1000, cpuUs: median(cpu) / 1000 };
}

function floorCosts(): Costs {
  return withEmptyPrograms(TRACEPOINTS, () => {
    const programs = ourProgramsByName();
    return measure(programs);
  });
}

/** The empty programs are attached by this process too. */
function ourProgramsByName(): Map<string, number> {
  const all = ourPrograms();
  return new Map([...all].filter(([tp]) => TRACEPOINTS.some((t) => t.endsWith(tp))));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const machine = machineInfo()[0];
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();

/** The end-to-end table: per request, each configuration against the untraced runs. */
function endToEndLines(e: EndToEnd, tracker: string): string[] {
  const names: Record<Config, string> = {
    untraced: "untraced",
    floor: `empty programs on the chain's ${e.tracepoints} tracepoints (floor)`,
    "raw floor": "the same empty programs as raw tracepoints (raw floor)",
    traced: `traced by \`${tracker}\``,
  };
  const rows = (["wall", "cpu"] as const).flatMap((m) =>
    CONFIGS.map((config) => {
      const overheads = [...e[m].overheads[config]].sort((a, b) => a - b);
      const quartile = (q: number) => overheads[Math.floor(q * (overheads.length - 1))];
      const spread = [0, 0.25, 0.75, 1].map((q) => percent(quartile(q))).join(", ");
      const us = (median(e[m].perRequest[config]) / 1000).toFixed(2);
      const over = config === "untraced" ? "" : percent(median(e[m].overheads[config]));
      return `| ${m === "wall" ? "wall time" : "time on a CPU"} | ${names[config]} | ${us} µs | ${over} | ${config === "untraced" ? "" : spread} |`;
    }),
  );
  return [
    "| per request | configuration | median | overhead (median of rounds) | spread of rounds: min, quartiles, max |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    `Traced rounds: ${median(e.pairs)} pairs (median; one per request), missed ${e.missed.join(", ")}.`,
  ];
}

const { programLines, rr } = await withBpfStats(async () => {
  const samples: Record<string, Record<string, number[]>> = { floor: {}, idle: {}, moving: {} };
  const add = (kind: string, costs: Costs) => {
    for (const [tp, ns] of Object.entries(costs)) {
      samples[kind][tp] = [...(samples[kind][tp] ?? []), ns];
    }
  };
  for (let round = 0; round < rounds; round++) {
    add("floor", floorCosts());
    add("idle", await chainCosts(trackers.idle));
    add("moving", await chainCosts(trackers.moving));
  }
  const lines: string[] = [];
  const verdicts: string[] = [];
  const pairs = `${pairCounts.join(", ")} pairs for ${LOOPS} loops each`;
  for (const kind of ["floor", "idle", "moving"]) {
    for (const [tp, xs] of Object.entries(samples[kind]).sort()) {
      if (!["sched_switch", "sched_waking", "sys_enter_write"].some((n) => tp.endsWith(n)))
        continue;
      // each round's own floor: the machine's drift between rounds cancels out
      const floors = samples.floor[tp];
      const ratios = floors ? xs.map((x, i) => x / floors[i]) : [];
      const cells =
        kind === "floor" || ratios.length === 0
          ? ["", ""]
          : [`${median(ratios).toFixed(1)}×`, `${Math.min(...ratios).toFixed(1)}×`];
      lines.push(`| ${kind} | ${tp} | ${median(xs).toFixed(0)} | ${cells.join(" | ")} |`);
      if (kind !== "floor" && ratios.length > 0) {
        const goal = kind === "idle" ? 2 : 5;
        const met = median(ratios) <= goal ? "met" : "missed";
        verdicts.push(`${kind} ${tp} ${median(ratios).toFixed(1)}× (≤ ${goal}×: ${met})`);
      }
    }
  }
  const rr = await rrProgramTime(rounds);
  const programLines = [
    "## chain",
    "",
    `Measured ${new Date().toISOString().slice(0, 16)}Z at ${commit} by \`node --import tsx bench/chain.ts ${rounds}\` (root):`,
    `${machine}.`,
    "",
    "Program time: bpf_stats time per run of a chain tracker's programs under",
    "`perf bench sched pipe` on one CPU, next to empty programs on the same tracepoints",
    `(floor); medians of ${rounds} interleaved rounds. idle: a chain whose origin never fires`,
    "(events that move no chain); moving: a chain from each write (`sys_enter_write`, the",
    "origin) to the woken reader's run (events that move one). Goals (issue 10): idle at most",
    `2× the floor, moving at most 5×. moving: ${pairs} (a write pairs only when it wakes a`,
    `sleeping reader). missed (recursion misses, all programs): idle ${missedCounts.idle.join(", ")};`,
    `moving ${missedCounts.moving.join(", ")}.`,
    "",
    "| kind | tracepoint | ns/run (median) | × floor (median of rounds) | × floor (best round) |",
    "|---|---|---|---|---|",
    ...lines,
    "",
    `Goals, on the median of rounds: ${verdicts.join("; ")}.`,
  ];
  return { programLines, rr };
});
const e2e = await endToEnd(2 * rounds);
const section = [
  ...programLines,
  "",
  `End to end: \`bench/chain-rr.c\`, a UDP request/response server on loopback answering`,
  `${REQUESTS} requests of one client, one at a time (both on one CPU), untraced and traced by`,
  `\`${LO_CHAIN.replace(/\s+/g, " ")}\`; ${2 * rounds} interleaved rounds, the order`,
  "alternating; bpf_stats off. A round's overhead is its traced time over its untraced time.",
  "Time on a CPU is the scheduler's exact run time of client and server; wall time is the",
  "client's clock, at the mercy of whatever else this shared machine runs on that CPU.",
  "",
  ...endToEndLines(e2e.rr, "lo"),
  "",
  "memcached (the original's workload: it paid 5.9 % there), one worker thread, answering the",
  `same ${REQUESTS} requests (\`get\` of one stored key) of \`bench/chain-mc.c\` over loopback TCP,`,
  "server and client on one CPU, in the same rounds (each round runs both workloads), traced",
  `by the same chain for its worker, \`${MC_CHAIN.replace(/\s+/g, " ")}\`;`,
  "time on a CPU is the client's and every server thread's:",
  "",
  ...endToEndLines(e2e.memcached, "mc"),
  "",
  `The chain's own programs take ${rr.programUs.toFixed(2)} µs per request (bpf_stats, median of ${rounds} runs),`,
  `${percent(rr.programUs / rr.cpuUs)} of a request's untraced time on a CPU (${rr.cpuUs.toFixed(2)} µs): about ten of`,
  "its events fire per request (2 softirq_raise, softirq_entry and softirq_exit, sched_switch;",
  "1–2 sched_waking), most of them moving the chain.",
  "",
  "What limits these numbers:",
  "",
  "- Moving events: the clock (read once per moving event: ~28 ns of a moving sched_switch's",
  "  ~115, from the same build reading a constant instead, interleaved), then the atomics (a",
  "  moving sched_switch releases two holders and the chain, and moves a branch count) and the",
  "  instructions. The token table (holder → token) is set-associative slots in two mmap-able",
  "  ARRAYs, no longer a HASH whose insert or delete took the bucket lock with interrupts off",
  "  (~25 ns here even for a missing key) and whose insert copied the 752-byte token: an",
  "  origin writes its token in place, a copy (a waking, a raise) is the header and the stages",
  "  kept, a drop or an end is one cmpxchg, and a bucket's mask of the ways that may hold a key",
  "  makes a miss one load. The chain table (chain id → live branches) is cmpxchg slots too;",
  "  a comm filter reads the task's comm through BTF; a chain of one segment counts it once, as",
  "  the pair. `bench/chain-ab.ts` (both builds interleaved, 16 rounds, 2026-12-02), the final",
  "  code against main's HASH token table (af7267e's chain code), new/old: moving sched_switch",
  "  0.66, sched_waking 0.67, the origin 0.75; idle sched_switch 0.81, idle sched_waking 1.02",
  "  (with a copy's stages unrolled, 3,817 instructions for 3,197 with a loop and 906 with the",
  "  HASH, the idle sched_waking measured 1.19 running the same instructions as with the HASH;",
  "  main against itself: 1.00). The program moves by ±10 % between builds here: single steps",
  "  of a few ns are below what a whole run of this benchmark resolves, and the floor moves",
  "  with the machine's load (54 → 31 ns on sched_switch within a day), the ratios with it.",
  "- End to end: the goal (< 3 %, the original paid 5.9 % on memcached) is out of reach of",
  "  these workloads whatever the programs do: a chain-rr round trip costs 4–10 µs on a CPU and",
  "  a memcached `get` on loopback ~7 µs, each firing ~10 of the chain's events, so empty",
  "  programs on the same tracepoints already cost more than 3 % (the floor rows), and the",
  "  chain's own programs take 1–2 µs per request. The same per-request cost is a smaller share",
  "  of a request that does more work. Attaching as raw tracepoints (BPF_RAW_TRACEPOINT_OPEN:",
  "  the program gets the tracepoint's arguments, and no event record is filled for it first)",
  "  lowers the floor (the raw floor rows), but not under 3 %: the rest is the tracepoint's",
  "  call into BPF itself on this VM. Moving ltsh's programs there would also need each",
  "  field read from the arguments (task_struct through BTF), as the kmod backend does.",
  "- Spread: this 2-CPU machine is shared (load average above): wall time and time on a CPU",
  "  both move by tens of percent between rounds (a vCPU shares its host with others too);",
  "  program time (bpf_stats) is the steadiest, and ratios are taken within a round.",
].join("\n");
process.stdout.write(`${section}\n`);
if (write) writeBenchmarkSection(section);
