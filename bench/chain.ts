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
// loopback request/response server answering 10,000 requests, untraced against traced by
// the `lo`-style chain, in 2 × ROUNDS interleaved rounds. Run as root:
//   node --import tsx bench/chain.ts [ROUNDS] [--write]   (--write: the `## chain` section
//   of BENCHMARKS.md, through bench/benchmarks-md.ts)

import { execFileSync } from "node:child_process";
import { compileSource } from "../src/compiler/compile.ts";
import { LiveSession } from "../src/session/live.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import { CONFIGS, type Config, type EndToEnd, endToEnd, LO_CHAIN, REQUESTS } from "./chain-e2e.ts";
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

/** Mean ns per run of each program (by tracepoint) while the benchmark runs. */
function measure(programs: Map<string, number>): Costs {
  const before = progStats();
  perfBench(LOOPS);
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
function endToEndLines(e: EndToEnd): string[] {
  const names: Record<Config, string> = {
    untraced: "untraced",
    floor: `empty programs on the chain's ${e.tracepoints} tracepoints (floor)`,
    traced: "traced by `lo`",
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

const programLines = await withBpfStats(async () => {
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
    }
  }
  return [
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
  ];
});
const e2e = await endToEnd(2 * rounds);
const section = [
  ...programLines,
  "",
  `End to end: \`bench/chain-rr.c\`, a UDP request/response server on loopback answering`,
  `${REQUESTS} requests of one client, one at a time (both on one CPU), untraced and traced by`,
  `\`${LO_CHAIN.replace(/\s+/g, " ")}\`; ${2 * rounds} interleaved rounds, the order`,
  "alternating; bpf_stats off. A round's overhead is its traced time over its untraced time.",
  "",
  ...endToEndLines(e2e),
].join("\n");
process.stdout.write(`${section}\n`);
if (write) writeBenchmarkSection(section);
