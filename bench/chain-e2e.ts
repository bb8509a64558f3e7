// The end-to-end cost of a chain tracker for bench/chain.ts: a loopback UDP request/response
// server (bench/chain-rr.c) answering 10,000 requests, untraced against traced by the
// `lo`-style chain (NET_RX raised by the sender until the server runs), in interleaved
// rounds. Wall time is the client's own clock over the round trips; the overhead of a round
// is its traced time over the untraced time of the same round, so the machine's drift
// between rounds cancels out. bpf_stats is off here: it would tax the traced side. Client
// and server share one CPU: across two, a round trip's time on this VM is mostly idle exits
// and wakeup IPIs through the hypervisor (~90 µs each), which the tracer's own work changes
// (a traced round was often faster), swamping the few percent being measured.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../src/compiler/compile.ts";
import { LiveSession } from "../src/session/live.ts";
import { generateLiveTracker } from "../src/session/live-codegen.ts";
import { withEmptyPrograms } from "./live-measure.ts";

export const REQUESTS = 10_000;

export const LO_CHAIN = `track lo: softirq_raise where vec == 3
    ~> sched_switch where next_comm == "rr-server"`;

/** The three configurations a round runs, in an order that rotates between rounds. */
export const CONFIGS = ["untraced", "floor", "traced"] as const;
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

/** The workload built in a temporary directory: run() it, then remove() it. */
export function rrWorkload(): { run: () => Run; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-bench-rr-"));
  const binary = build(dir);
  return {
    run: () => runOnce(binary),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function build(dir: string): string {
  const source = new URL("chain-rr.c", import.meta.url).pathname;
  const binary = join(dir, "chain-rr");
  execFileSync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", source, "-o", binary]);
  return binary;
}

/** ns per request of one run of the workload (client and server on one CPU: see above). */
function runOnce(binary: string): Run {
  const last = String(cpus().length - 1);
  const out = execFileSync("taskset", ["-c", last, binary, String(REQUESTS)], { encoding: "utf8" });
  const [wall, cpu] = out.trim().split(" ").map(Number);
  return { wall: wall / REQUESTS, cpu: cpu / REQUESTS };
}

export function loPlan() {
  const { plan } = compileSource(LO_CHAIN, "lo.lt", { backend: "ebpf" });
  if (!plan) throw new Error("the lo chain does not compile");
  return plan;
}

async function tracedOnce(run: () => Run, result: EndToEnd): Promise<Run> {
  const plan = loPlan();
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: () => {}, warning: () => {} },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    return run();
  } finally {
    const [summary] = await session.close();
    result.pairs.push(summary.pairs);
    result.missed.push(summary.missed);
  }
}

/** The tracepoints the chain's programs are attached to (the floor's empty programs go there). */
function chainTracepoints(): string[] {
  const plan = loPlan();
  const object = generateLiveTracker(plan.trackers[0], 0, plan.options);
  return [...new Set(object.programs.map((p) => p.probe.id))];
}

export async function endToEnd(rounds: number): Promise<EndToEnd> {
  const workload = rrWorkload();
  try {
    const tracepoints = chainTracepoints();
    workload.run(); // warm-up: caches, the socket paths
    const measure = (): Measure => ({
      perRequest: { untraced: [], floor: [], traced: [] },
      overheads: { untraced: [], floor: [], traced: [] },
    });
    const result: EndToEnd = {
      wall: measure(),
      cpu: measure(),
      pairs: [],
      missed: [],
      tracepoints: tracepoints.length,
    };
    const run: Record<Config, () => Promise<Run>> = {
      untraced: async () => workload.run(),
      floor: async () => withEmptyPrograms(tracepoints, () => workload.run()),
      traced: () => tracedOnce(workload.run, result),
    };
    for (let round = 0; round < rounds; round++) {
      const runs = {} as Record<Config, Run>;
      for (let k = 0; k < CONFIGS.length; k++) {
        const config = CONFIGS[(round + k) % CONFIGS.length];
        runs[config] = await run[config]();
      }
      for (const m of ["wall", "cpu"] as const) {
        for (const config of CONFIGS) {
          result[m].perRequest[config].push(runs[config][m]);
          result[m].overheads[config].push(runs[config][m] / runs.untraced[m] - 1);
        }
      }
    }
    return result;
  } finally {
    workload.remove();
  }
}
