// Measurements for bench/live.ts: `perf bench sched pipe` µs/op, the empty-program floor,
// and a tracer process (startup to attached, CPU it used during the benchmark, peak RSS).

import {
  type ChildProcess,
  execFile,
  execFileSync,
  type StdioOptions,
  spawn,
} from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import {
  BpfProgType,
  closeFd,
  loadProgram,
  objectId,
  openRawTracepoint,
} from "../src/kernel/bpf.ts";
import { onCleanup } from "../src/kernel/cleanup.ts";
import { attachTracepoint } from "../src/kernel/perf.ts";
import { findTracefs } from "../src/kernel/permissions.ts";

/**
 * Both benchmark tasks pinned to the last CPU: each op is then exactly two wakeups and two
 * context switches on one CPU, and far less at the mercy of what else runs on this machine.
 */
const BENCH_CPU = String(cpus().length - 1);

/** µs per op of `perf bench sched pipe` (two tasks ping-ponging through pipes). */
export function perfBench(loops: number): number {
  const out = execFileSync(
    "taskset",
    ["-c", BENCH_CPU, "perf", "bench", "sched", "pipe", "-l", String(loops)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const m = /([\d.]+)\s+usecs\/op/.exec(out);
  if (m === null) throw new Error(`cannot read perf bench output:\n${out}`);
  return Number(m[1]);
}

/**
 * kernel.bpf_stats_enabled: the kernel times every program run (run_time_ns, run_cnt), which
 * gives the programs' own cost per run, immune to what else the shared machine is doing.
 */
export function withBpfStats<T>(fn: () => Promise<T>): Promise<T> {
  const path = "/proc/sys/kernel/bpf_stats_enabled";
  const before = readFileSync(path, "utf8").trim();
  // Restored on Ctrl-C too: it slows every BPF program on the machine a little.
  const restore = () => writeFileSync(path, before);
  const unregister = onCleanup(restore);
  writeFileSync(path, "1");
  return fn().finally(() => {
    restore();
    unregister();
  });
}

type RunStats = Map<number, { ns: number; runs: number }>;

/** Each program's total run time and run count (bpf_stats), by id. */
export function progStats(ids: number[]): RunStats {
  const out = execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" });
  const progs = JSON.parse(out) as { id: number; run_time_ns?: number; run_cnt?: number }[];
  const wanted = new Set(ids);
  return new Map(
    progs
      .filter((p) => wanted.has(p.id))
      .map((p) => [p.id, { ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 }]),
  );
}

/** Sum over the programs of their mean ns per run between two readings (one run of each). */
function nsPerRunOfEach(before: RunStats, after: RunStats): number {
  let total = 0;
  for (const [id, a] of after) {
    const b = before.get(id) ?? { ns: 0, runs: 0 };
    if (a.runs > b.runs) total += (a.ns - b.ns) / (a.runs - b.runs);
  }
  return total;
}

/** Runs the benchmark while the programs `ids` are attached; µs/op and their ns per run. */
export function benchWithPrograms(ids: number[], loops: number) {
  const before = progStats(ids);
  const usPerOp = perfBench(loops);
  return { usPerOp, programNs: nsPerRunOfEach(before, progStats(ids)) };
}

/**
 * The floor: the cost of merely running a BPF program on each hit of these tracepoints,
 * attached as ltsh attaches them ("perf": a tracepoint program through perf_event_open), or
 * as raw tracepoint programs ("raw": no event record is filled first).
 */
export function withEmptyPrograms<T>(
  tracepoints: string[],
  fn: (ids: number[]) => T,
  attach: "perf" | "raw" = "perf",
): T {
  const tracefs = findTracefs()!;
  // r0 = 0; exit
  const insns = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const attached: { fd: number; detach: () => void }[] = [];
  try {
    for (const tp of tracepoints) {
      const [category, name] = tp.split(":");
      const type = attach === "raw" ? BpfProgType.RAW_TRACEPOINT : BpfProgType.TRACEPOINT;
      const fd = loadProgram({ name: "ltsh_bench_nop", type, insns, license: "GPL" });
      if (attach === "raw") {
        const link = openRawTracepoint(name, fd);
        attached.push({ fd, detach: () => closeFd(link) });
      } else {
        const id = Number(readFileSync(`${tracefs}/events/${category}/${name}/id`, "utf8"));
        const link = attachTracepoint(fd, id);
        attached.push({ fd, detach: () => link.close() });
      }
    }
    return fn(attached.map((a) => objectId(a.fd)));
  } finally {
    for (const { fd, detach } of attached) {
      detach();
      closeFd(fd);
    }
  }
}

export interface Traced {
  usPerOp: number;
  /** Mean kernel time of one run of each of its programs, summed (bpf_stats). */
  programNs: number;
  /** Process start until `bpftool perf show` lists all its tracepoints. */
  startupMs: number;
  /** User + system CPU the tracer process itself used while the benchmark ran. */
  cpuMs: number;
  peakRssMb: number;
}

/**
 * Starts a tracer that dies with us: a tracer left running after the bench is interrupted
 * would keep its programs attached (and skew everyone's measurements) until killed by hand.
 */
function spawnTracer(command: string[], cwd: string, stdio: StdioOptions): ChildProcess {
  const child = spawn(command[0], command.slice(1), { cwd, stdio });
  const unregister = onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  child.once("exit", unregister);
  return child;
}

interface PerfEntry {
  pid: number;
  prog_id: number;
  tracepoint?: string;
}

function perfEntries(pid: number): PerfEntry[] {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  return (JSON.parse(out) as PerfEntry[]).filter((e) => e.pid === pid && e.tracepoint);
}

/** Programs attached to tracepoints by pid, from `bpftool perf show` (as a user would check). */
function attachedPrograms(pid: number): number[] {
  return perfEntries(pid).map((e) => e.prog_id);
}

export interface ProgramCost {
  tracer: string;
  tracepoint: string;
  nsPerRun: number;
}

/**
 * Every tracer attached at once, so their programs run on the very same events; then the
 * kernel's mean time per run of each program (bpf_stats) compares them like for like.
 */
export async function sideBySide(
  tracers: { label: string; command: string[] }[],
  cwd: string,
  tracepoints: number,
  loops: number,
): Promise<ProgramCost[]> {
  // Attached one after the other: programs run in attach order on each event, and the first
  // pays the cold cache misses, so callers alternate the order between rounds.
  const children: { label: string; child: ChildProcess }[] = [];
  try {
    for (const t of tracers) {
      const child = spawnTracer(t.command, cwd, "ignore");
      children.push({ label: t.label, child });
      await waitAttached(child, tracepoints, performance.now());
    }
    const entries = children.map(({ label, child }) => ({
      label,
      entries: perfEntries(child.pid!),
    }));
    const ids = entries.flatMap((e) => e.entries.map((x) => x.prog_id));
    const before = progStats(ids);
    perfBench(loops);
    const after = progStats(ids);
    return entries.flatMap(({ label, entries }) =>
      entries.map((e) => {
        const a = after.get(e.prog_id) ?? { ns: 0, runs: 0 };
        const b = before.get(e.prog_id) ?? { ns: 0, runs: 0 };
        const nsPerRun = a.runs > b.runs ? (a.ns - b.ns) / (a.runs - b.runs) : Number.NaN;
        return { tracer: label, tracepoint: e.tracepoint!, nsPerRun };
      }),
    );
  } finally {
    for (const { child } of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
  }
}

async function waitAttached(child: ChildProcess, want: number, t0: number): Promise<number> {
  const deadline = t0 + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode})`);
    if (attachedPrograms(child.pid!).length >= want) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${child.spawnfile} did not attach within 30 s`);
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** utime + stime of a process, in ms (clock ticks are 10 ms on Linux x86_64). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts a tracer, waits until its programs are attached, runs the benchmark, stops it. */
export async function traced(
  command: string[],
  cwd: string,
  tracepoints: number,
  loops: number,
): Promise<Traced> {
  const t0 = performance.now();
  const child = spawnTracer(command, cwd, ["ignore", "ignore", "pipe"]);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const startupMs = await waitAttached(child, tracepoints, t0);
    const cpuBefore = cpuTimeMs(child.pid!);
    const { usPerOp, programNs } = benchWithPrograms(attachedPrograms(child.pid!), loops);
    const cpuMs = cpuTimeMs(child.pid!) - cpuBefore;
    return { usPerOp, programNs, startupMs, cpuMs, peakRssMb: peakRssMb(child.pid!) };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
  }
}

/**
 * Hit delivery: kernel timestamp of each hit's end event (CLOCK_MONOTONIC) to the moment its
 * NDJSON line reaches us, while `perf bench` loads the machine. Milliseconds, every hit.
 */
export async function hitDelivery(
  command: string[],
  cwd: string,
  tracepoints: number,
  loops: number,
): Promise<number[]> {
  const child = spawnTracer(command, cwd, ["ignore", "pipe", "ignore"]);
  const delays: number[] = [];
  let pending = "";
  let benchStart = 1n << 62n;
  child.stdout!.on("data", (chunk: Buffer) => {
    const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, like bpf_ktime_get_ns
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      // ts_ns may exceed 2^53: read it as a BigInt, not through JSON.parse.
      const end = /"end":\{[^}]*"ts_ns":(\d+)/.exec(line);
      // Only hits of the measured stretch: before it, our own polling held up the reads.
      if (end !== null && BigInt(end[1]) >= benchStart)
        delays.push(Number(now - BigInt(end[1])) / 1e6);
    }
  });
  try {
    await waitAttached(child, tracepoints, performance.now());
    await new Promise((r) => setTimeout(r, 100)); // let the hits of the startup drain
    benchStart = process.hrtime.bigint();
    // Asynchronously, so that our event loop reads the hits while the benchmark runs.
    await new Promise<void>((resolve, reject) =>
      execFile(
        "taskset",
        ["-c", BENCH_CPU, "perf", "bench", "sched", "pipe", "-l", String(loops)],
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    return delays;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
  }
}

export function machineInfo(): string[] {
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
      return "absent";
    }
  };
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  return [
    `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} CPUs; Linux ${version("uname", ["-r"])}; load average ${load} at the start (machine shared with other work)`,
    `Node ${process.versions.node}; ${version("perf", ["--version"])}; ${version("bpftrace", ["--version"])}`,
    `perf bench pinned with \`taskset -c ${BENCH_CPU}\`; startup polled with \`bpftool perf show\` every 5 ms`,
  ];
}
