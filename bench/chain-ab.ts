// A/B of chain programs between two checkouts: the same chain tracker compiled by another
// checkout's sources (BASE, e.g. a worktree of the previous commit) and by this one, run in
// interleaved rounds under the same workload, each program's bpf_stats time per run compared.
// Within one run both builds see the same machine, so a change of a few percent shows where
// a whole benchmark (bench/chain.ts) drowns in the shared machine's drift. Run as root:
//   node --import tsx bench/chain-ab.ts BASE [ROUNDS] [--rr | --idle]
// --rr: the loopback request/response workload of bench/chain-e2e.ts and its `lo` chain,
// instead of `perf bench sched pipe` and the "moving" chain of bench/chain.ts; --idle: that
// benchmark's "idle" chain (events that move no chain) under `perf bench sched pipe`.

import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { LO_CHAIN, rrWorkload } from "./chain-e2e.ts";
import { perfBench, withBpfStats } from "./live-measure.ts";

const args = process.argv.slice(2);
const rr = args.includes("--rr");
const idle = args.includes("--idle");
const [baseDir, roundsArg] = args.filter((a) => a !== "--rr" && a !== "--idle");
if (baseDir === undefined)
  throw new Error("usage: bench/chain-ab.ts BASE [ROUNDS] [--rr | --idle]");
const rounds = Number(roundsArg ?? 4);
const MOVING = `track moving: sys_enter_write where comm == "sched-pipe"
    ~> sched_switch where next_comm == "sched-pipe"`;
const IDLE = "track idle: softirq_raise where vec == 99 ~> sched_switch";
const source = rr ? LO_CHAIN : idle ? IDLE : MOVING;
const roots = { base: resolve(baseDir), new: new URL("..", import.meta.url).pathname };
type Build = keyof typeof roots;

interface Modules {
  compileSource: typeof import("../src/compiler/compile.ts").compileSource;
  LiveSession: typeof import("../src/session/live.ts").LiveSession;
}

async function modulesOf(root: string): Promise<Modules> {
  const { compileSource } = await import(`${root}/src/compiler/compile.ts`);
  const { LiveSession } = await import(`${root}/src/session/live.ts`);
  return { compileSource, LiveSession };
}

function bpftool<T>(args: string[]): T {
  return JSON.parse(execFileSync("bpftool", [...args, "--json"], { encoding: "utf8" })) as T;
}

function runStats(): Map<number, { ns: number; runs: number }> {
  const progs = bpftool<{ id: number; run_time_ns?: number; run_cnt?: number }[]>(["prog", "show"]);
  return new Map(progs.map((p) => [p.id, { ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 }]));
}

function ourPrograms(): Map<string, number> {
  const perf = bpftool<{ pid: number; prog_id: number; tracepoint?: string }[]>(["perf", "show"]);
  const ours = perf.filter((e) => e.pid === process.pid && e.tracepoint);
  return new Map(ours.map((e) => [e.tracepoint!, e.prog_id]));
}

/** ns per run of each program (by tracepoint) of one build's tracker under the workload. */
async function costs(m: Modules, workload: () => void): Promise<Record<string, number>> {
  const { plan } = m.compileSource(source, "ab.lt", { backend: "ebpf" });
  if (!plan) throw new Error(`does not compile: ${source}`);
  const session = m.LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    const programs = ourPrograms();
    const before = runStats();
    workload();
    const after = runStats();
    const out: Record<string, number> = {};
    for (const [tp, id] of programs) {
      const a = after.get(id)!;
      const b = before.get(id) ?? { ns: 0, runs: 0 };
      if (a.runs > b.runs) out[tp] = (a.ns - b.ns) / (a.runs - b.runs);
    }
    return out;
  } finally {
    await session.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const modules = { base: await modulesOf(roots.base), new: await modulesOf(roots.new) };
const rrRun = rr ? rrWorkload() : null;
const workload = rrRun ? () => void rrRun.run() : () => void perfBench(50_000);
const samples: Record<Build, Record<string, number[]>> = { base: {}, new: {} };
try {
  await withBpfStats(async () => {
    for (let round = 0; round < rounds; round++) {
      const order: Build[] = round % 2 === 0 ? ["base", "new"] : ["new", "base"];
      for (const build of order) {
        for (const [tp, ns] of Object.entries(await costs(modules[build], workload))) {
          samples[build][tp] = [...(samples[build][tp] ?? []), ns];
        }
      }
    }
  });
} finally {
  rrRun?.remove();
}
process.stdout.write(`ns/run, medians of ${rounds} interleaved rounds (base: ${roots.base})\n`);
for (const tp of Object.keys(samples.new).sort()) {
  const [b, n] = [samples.base[tp], samples.new[tp]];
  if (!b || b.length < rounds || n.length < rounds) continue; // rare events: too few runs
  const ratio = (median(n) / median(b)).toFixed(2);
  process.stdout.write(
    `${tp.padEnd(28)} base ${median(b).toFixed(0).padStart(5)}  new ${median(n).toFixed(0).padStart(5)}  new/base ${ratio}\n`,
  );
}
