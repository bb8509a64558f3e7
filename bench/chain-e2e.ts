// The end-to-end cost of a chain tracker for bench/chain.ts: a loopback UDP request/response
// server (bench/chain-rr.c), and memcached (the original's workload) asked by
// bench/chain-mc.c over loopback TCP, each answering 10,000 requests, untraced against traced
// by the `lo`-style chain (NET_RX raised by the sender until the server runs), in interleaved
// rounds. Wall time is the client's own clock over the round trips; the overhead of a round
// is its traced time over the untraced time of the same round, so the machine's drift
// between rounds cancels out. bpf_stats is off here: it would tax the traced side. Client
// and server share one CPU: across two, a round trip's time on this VM is mostly idle exits
// and wakeup IPIs through the hypervisor (~90 µs each), which the tracer's own work changes
// (a traced round was often faster), swamping the few percent being measured.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../src/compiler/compile.ts";
import { LiveSession } from "../src/session/live.ts";
import { generateLiveTracker } from "../src/session/live-codegen.ts";
import { withEmptyPrograms } from "./live-measure.ts";

export const REQUESTS = 10_000;

export const LO_CHAIN = `track lo: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "rr-server"`;

/** The same chain for memcached, whose worker threads are named mc-worker. */
export const MC_CHAIN = `track mc: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "mc-worker"`;

/**
 * The configurations a round runs, in an order that rotates between rounds: untraced; empty
 * programs on the chain's tracepoints attached as ltsh attaches them (the floor) and as raw
 * tracepoints (what a cheaper attachment would leave); traced.
 */
export const CONFIGS = ["untraced", "floor", "raw floor", "traced"] as const;
export type Config = (typeof CONFIGS)[number];

/** One measure (wall time, or time on a CPU): ns per request, and per round the overhead of
 * each configuration over the untraced run of the same round. */
export interface Measure {
  perRequest: Record<Config, number[]>;
  overheads: Record<Config, number[]>;
}

export interface EndToEnd {
  wall: Measure;
  cpu: Measure;
  pairs: number[];
  missed: number[];
  /** How many tracepoints the chain's programs (and the floor's empty ones) are on. */
  tracepoints: number;
}

export interface Run {
  wall: number;
  cpu: number;
}

/** A workload and the chain that follows its requests: run() it, then remove() it. */
export interface Workload {
  chain: string;
  run: () => Run;
  remove: () => void;
}

/** bench/chain-rr.c, built in a temporary directory. */
export function rrWorkload(): Workload {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-bench-rr-"));
  const binary = build(dir, "chain-rr");
  return {
    chain: LO_CHAIN,
    run: () => runOnce([binary, String(REQUESTS)]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * memcached (one worker thread) on a loopback port, asked for one stored key by
 * bench/chain-mc.c; server and client on one CPU, as chain-rr's.
 */
export function memcachedWorkload(): Workload {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-bench-mc-"));
  const client = build(dir, "chain-mc");
  const port = String(20000 + (process.pid % 20000));
  const pidFile = join(dir, "memcached.pid");
  const server = ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", port, "-U", "0", "-t", "1"];
  execFileSync("taskset", ["-c", lastCpu(), ...server, "-d", "-P", pidFile]);
  const pid = () => readFileSync(pidFile, "utf8").trim();
  const run = () => runOnce([client, port, pid(), String(REQUESTS)]);
  for (let attempt = 0; ; attempt++) {
    try {
      run(); // the daemon is up when its pid file is written and it answers
      break;
    } catch (error) {
      if (attempt === 50) throw error;
      execFileSync("sleep", ["0.1"]);
    }
  }
  return {
    chain: MC_CHAIN,
    run,
    remove: () => {
      execFileSync("kill", [pid()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function build(dir: string, name: string): string {
  const source = new URL(`${name}.c`, import.meta.url).pathname;
  const binary = join(dir, name);
  execFileSync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", source, "-o", binary]);
  return binary;
}

const lastCpu = () => String(cpus().length - 1);

/** ns per request of one run of a workload's client (pinned with its server: see above). */
function runOnce(command: string[]): Run {
  const out = execFileSync("taskset", ["-c", lastCpu(), ...command], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [wall, cpu] = out.trim().split(" ").map(Number);
  return { wall: wall / REQUESTS, cpu: cpu / REQUESTS };
}

export function chainPlan(chain: string) {
  const { plan } = compileSource(chain, "e2e.lt", { backend: "ebpf" });
  if (!plan) throw new Error(`does not compile: ${chain}`);
  return plan;
}

export const loPlan = () => chainPlan(LO_CHAIN);

async function tracedOnce(workload: Workload, result: EndToEnd): Promise<Run> {
  const plan = chainPlan(workload.chain);
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    return workload.run();
  } finally {
    const [summary] = await session.close();
    result.pairs.push(summary.pairs);
    result.missed.push(summary.missed);
  }
}

/** The tracepoints the chain's programs are attached to (the floor's empty programs go there). */
function chainTracepoints(chain: string): string[] {
  const plan = chainPlan(chain);
  const object = generateLiveTracker(plan.trackers[0], 0, plan.options);
  return [...new Set(object.programs.map((p) => p.probe.id))];
}

/** The end-to-end rounds of chain-rr and memcached, interleaved: each round runs both. */
export async function endToEnd(rounds: number): Promise<Record<"rr" | "memcached", EndToEnd>> {
  const workloads = { rr: rrWorkload(), memcached: memcachedWorkload() };
  try {
    const measure = (): Measure => ({
      perRequest: { untraced: [], floor: [], "raw floor": [], traced: [] },
      overheads: { untraced: [], floor: [], "raw floor": [], traced: [] },
    });
    const setUp = (w: Workload) => {
      w.run(); // warm-up: caches, the socket paths
      const tracepoints = chainTracepoints(w.chain);
      const result: EndToEnd = {
        wall: measure(),
        cpu: measure(),
        pairs: [],
        missed: [],
        tracepoints: tracepoints.length,
      };
      const run: Record<Config, () => Promise<Run>> = {
        untraced: async () => w.run(),
        floor: async () => withEmptyPrograms(tracepoints, () => w.run()),
        "raw floor": async () => withEmptyPrograms(tracepoints, () => w.run(), "raw"),
        traced: () => tracedOnce(w, result),
      };
      return { result, run };
    };
    const runs = { rr: setUp(workloads.rr), memcached: setUp(workloads.memcached) };
    for (let round = 0; round < rounds; round++) {
      for (const { result, run } of Object.values(runs)) {
        const took = {} as Record<Config, Run>;
        for (let k = 0; k < CONFIGS.length; k++) {
          const config = CONFIGS[(round + k) % CONFIGS.length];
          took[config] = await run[config]();
        }
        for (const m of ["wall", "cpu"] as const) {
          for (const config of CONFIGS) {
            result[m].perRequest[config].push(took[config][m]);
            result[m].overheads[config].push(took[config][m] / took.untraced[m] - 1);
          }
        }
      }
    }
    return { rr: runs.rr.result, memcached: runs.memcached.result };
  } finally {
    for (const w of Object.values(workloads)) w.remove();
  }
}
