// What user-space probes cost: the test workload (test/fixtures/usdt/) runs N iterations
// with no tracer, with empty programs on the probes, under ltsh, and under bpftrace on the
// same probes (uprobe + uretprobe on lt_add keyed by tid, USDT work__begin → work__end on
// another thread keyed by a cookie), modes interleaved over rounds. Reports the workload's
// loop time per iteration (median over rounds), the kernel's time per run of each probe's
// program (bpf_stats), both tracers' pair counts (each must pair every iteration), and
// ltsh's cost above the empty-program floor against bpftrace's (issue #11: at most 0.5).
// Writes the `## uprobe` section of BENCHMARKS.md unless --no-write. Run as root:
//   node --import tsx bench/uprobe.ts [ITERATIONS] [ROUNDS] [--no-write]

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { compileSource } from "../src/compiler/compile.ts";
import { planUserProbe } from "../src/compiler/uprobe/probe-plan.ts";
import { BpfProgType, closeFd, loadProgram } from "../src/kernel/bpf.ts";
import { onCleanup } from "../src/kernel/cleanup.ts";
import { attachUprobe } from "../src/kernel/uprobe.ts";
import { LiveSession } from "../src/session/live.ts";
import { buildWorkload } from "../test/uprobe/workload.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import { machineInfo, progStats, withBpfStats } from "./live-measure.ts";
import { MODES, type Mode, type Round, uprobeSection } from "./uprobe-report.ts";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const write = !process.argv.includes("--no-write");
const ITERATIONS = Number(args[0] ?? 20000);
const ROUNDS = Number(args[1] ?? 5);

const w = buildWorkload();
const SMALL_CAPACITY = 64;
const P = w.pie;
/** The four probes, by the label the report gives them. */
const PROBES = {
  "uprobe lt_add": `uprobe:${P}:lt_add`,
  "uretprobe lt_add": `uretprobe:${P}:lt_add`,
  "usdt work__begin": `usdt:${P}:ltsh:work__begin`,
  "usdt work__end": `usdt:${P}:ltsh:work__end`,
};
const LTSH = `track add: uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid)
track work: usdt:${P}:ltsh:work__begin(arg0) -> usdt:${P}:ltsh:work__end(arg0)`;
/** The same trackers with pending tables small enough to stay in cache (a reference, no goal). */
const LTSH_SMALL = LTSH.replace(/\)$/gm, `) capacity ${SMALL_CAPACITY}`);
const BPFTRACE = `uprobe:${P}:lt_add { @s[tid] = nsecs; }
uretprobe:${P}:lt_add /@s[tid]/ { @add = hist(nsecs - @s[tid]); delete(@s[tid]); }
usdt:${P}:ltsh:work__begin { @w[arg0] = nsecs; }
usdt:${P}:ltsh:work__end /@w[arg0]/ { @work = hist(nsecs - @w[arg0]); delete(@w[arg0]); }`;

/** Each probe's sites, as `KIND OFFSET` (what `bpftool perf show` says of an attachment). */
const SITES = new Map<string, string>();
for (const [label, spelling] of Object.entries(PROBES)) {
  const planned = planUserProbe(spelling);
  if (!planned.ok) throw new Error(planned.message);
  const user = planned.value.probe.user!;
  const kind = user.kind === "uretprobe" ? "uretprobe" : "uprobe";
  for (const site of user.sites) SITES.set(`${kind} ${site.fileOffset}`, label);
}

/** µs per iteration of the workload (its whole run, divided). */
function loopTime(): number {
  const t0 = performance.now();
  const done = spawnSync(P, [String(ITERATIONS)], { stdio: "ignore" });
  if (done.status !== 0) throw new Error(`workload exited ${done.status}`);
  return ((performance.now() - t0) * 1000) / ITERATIONS;
}

/** A process's programs on the workload's probe sites, from `bpftool perf show`: id → probe label. */
function uprobePrograms(pid: number): Map<number, string> {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  const entries = JSON.parse(out) as {
    pid: number;
    prog_id: number;
    fd_type?: string;
    filename?: string;
    offset?: number;
  }[];
  const programs = new Map<number, string>();
  for (const e of entries) {
    const label = SITES.get(`${e.fd_type} ${e.offset}`);
    if (e.pid === pid && e.filename === P && label !== undefined) programs.set(e.prog_id, label);
  }
  return programs;
}

/** r0 = 0; exit, on every site of the four probes. */
function attachEmpty(): () => void {
  const insns = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const held: { fd: number; close: () => void }[] = [];
  for (const spelling of Object.values(PROBES)) {
    const planned = planUserProbe(spelling);
    if (!planned.ok) throw new Error(planned.message);
    const user = planned.value.probe.user!;
    for (const site of user.sites) {
      const fd = loadProgram({
        name: "ltsh_bench_nop",
        type: BpfProgType.KPROBE,
        insns,
        license: "GPL",
      });
      const link = attachUprobe(fd, {
        path: user.path,
        fileOffset: site.fileOffset,
        retprobe: user.kind === "uretprobe",
      });
      held.push({ fd, close: () => link.close() });
    }
  }
  return () => {
    for (const h of held) {
      h.close();
      closeFd(h.fd);
    }
  };
}

/** Starts the two trackers; stopping returns each one's pairs. */
async function startLtsh(source: string): Promise<() => Promise<number[]>> {
  const { plan } = compileSource(source, "bench.lt");
  if (plan === null) throw new Error("the bench trackers do not compile");
  const session = LiveSession.open({ options: plan.options, listener: { hit() {}, warning() {} } });
  for (const t of plan.trackers) await session.add(t);
  return async () => {
    const summaries = await session.close();
    return ["add", "work"].map((name) => summaries.find((s) => s.tracker === name)?.pairs ?? 0);
  };
}

/** The count of each histogram bpftrace prints at exit (@add, then @work). */
function bpftracePairs(output: string): number[] {
  return ["@add", "@work"].map((name) => {
    const start = output.indexOf(`${name}:`);
    if (start < 0) return 0;
    const rest = output.slice(start + name.length + 1);
    const end = rest.search(/^@/m);
    let sum = 0;
    for (const m of (end < 0 ? rest : rest.slice(0, end)).matchAll(/^\[[^\n]*?[\])]\s+(\d+)/gm)) {
      sum += Number(m[1]);
    }
    return sum;
  });
}

async function startBpftrace(): Promise<{ child: ChildProcess; stop: () => Promise<number[]> }> {
  const child = spawn("bpftrace", ["-e", BPFTRACE], { stdio: ["ignore", "pipe", "ignore"] });
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  const unregister = onCleanup(() => child.kill("SIGKILL"));
  for (let i = 0; i < 600 && uprobePrograms(child.pid!).size < SITES.size; i++) {
    if (child.exitCode !== null) throw new Error(`bpftrace exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    stop: async () => {
      const exited = new Promise((r) => child.once("close", r));
      // bpftrace may miss a SIGINT that comes as it finishes attaching: repeated until it exits
      const again = setInterval(() => child.kill("SIGINT"), 2000);
      child.kill("SIGINT");
      await exited;
      clearInterval(again);
      unregister();
      return bpftracePairs(output);
    },
  };
}

/** One measurement of a mode: loop µs per iteration, ns per run of each probe's programs, pairs. */
async function measure(mode: Mode): Promise<Round> {
  if (mode === "none") return { loopUs: loopTime(), perRun: new Map(), runs: new Map(), pairs: [] };
  let stop: () => number[] | Promise<number[]>;
  let owner = process.pid;
  if (mode === "empty") {
    const detach = attachEmpty();
    stop = () => {
      detach();
      return [];
    };
  } else if (mode === "ltsh") stop = await startLtsh(LTSH);
  else if (mode === "ltsh-small") stop = await startLtsh(LTSH_SMALL);
  else {
    const started = await startBpftrace();
    owner = started.child.pid!;
    stop = started.stop;
  }
  let result: Omit<Round, "pairs">;
  try {
    const programs = uprobePrograms(owner);
    if (programs.size !== SITES.size) {
      throw new Error(`${mode}: ${programs.size} programs on the ${SITES.size} probe sites`);
    }
    const before = progStats([...programs.keys()]);
    const loopUs = loopTime();
    const after = progStats([...programs.keys()]);
    const perRun = new Map<string, number>();
    const runs = new Map<string, number>();
    for (const [id, a] of after) {
      const b = before.get(id) ?? { ns: 0, runs: 0 };
      const label = programs.get(id)!;
      const n = a.runs - b.runs;
      runs.set(label, (runs.get(label) ?? 0) + n);
      if (n > 0) perRun.set(label, (perRun.get(label) ?? 0) + (a.ns - b.ns) / n);
    }
    result = { loopUs, perRun, runs };
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...result, pairs: await stop() };
}

const info = machineInfo().slice(0, 2);
const started = new Date();
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const results = await withBpfStats(async () => {
  const results = new Map<Mode, Round[]>(MODES.map((m) => [m, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated: no mode always runs first or right after another's cleanup.
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
    for (const mode of order) results.get(mode)!.push(await measure(mode));
  }
  return results;
});
const section = uprobeSection({
  iterations: ITERATIONS,
  rounds: ROUNDS,
  started,
  commit,
  info,
  probes: Object.keys(PROBES),
  results,
  smallCapacity: SMALL_CAPACITY,
  ltsh: LTSH.replaceAll(P, "workload"),
  bpftrace: BPFTRACE.replaceAll(P, "workload"),
});
process.stdout.write(`${section}\n`);
if (write) writeBenchmarkSection(section);
