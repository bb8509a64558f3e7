// Measurements for bench/live.ts: `perf bench sched pipe` µs/op, the empty-program floor,
// and a tracer process (startup to attached, CPU it used during the benchmark, peak RSS).

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { BpfProgType, closeFd, loadProgram } from "../src/kernel/bpf.ts";
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

/** The floor: the cost of merely running a BPF program on each hit of these tracepoints. */
export function withEmptyPrograms<T>(tracepoints: string[], fn: () => T): T {
  const tracefs = findTracefs()!;
  const attached = tracepoints.map((tp) => {
    const [category, name] = tp.split(":");
    const id = Number(readFileSync(`${tracefs}/events/${category}/${name}/id`, "utf8"));
    // r0 = 0; exit
    const insns = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const fd = loadProgram({
      name: "ltsh_bench_nop",
      type: BpfProgType.TRACEPOINT,
      insns,
      license: "GPL",
    });
    return { fd, link: attachTracepoint(fd, id) };
  });
  try {
    return fn();
  } finally {
    for (const { fd, link } of attached) {
      link.close();
      closeFd(fd);
    }
  }
}

export interface Traced {
  usPerOp: number;
  /** Process start until `bpftool perf show` lists all its tracepoints. */
  startupMs: number;
  /** User + system CPU the tracer process itself used while the benchmark ran. */
  cpuMs: number;
  peakRssMb: number;
}

/** Tracepoints attached by pid, from `bpftool perf show` (what a user would check). */
function attachedCount(pid: number): number {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  const entries = JSON.parse(out) as { pid: number; tracepoint?: string }[];
  return entries.filter((e) => e.pid === pid && e.tracepoint !== undefined).length;
}

async function waitAttached(child: ChildProcess, want: number, t0: number): Promise<number> {
  const deadline = t0 + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode})`);
    if (attachedCount(child.pid!) >= want) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${child.spawnfile} did not attach within 30 s`);
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** utime + stime of a process, in ms (clock ticks are 10 ms on Linux x86_64). */
function cpuTimeMs(pid: number): number {
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
  const child = spawn(command[0], command.slice(1), { cwd, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const startupMs = await waitAttached(child, tracepoints, t0);
    const cpuBefore = cpuTimeMs(child.pid!);
    const usPerOp = perfBench(loops);
    const cpuMs = cpuTimeMs(child.pid!) - cpuBefore;
    return { usPerOp, startupMs, cpuMs, peakRssMb: peakRssMb(child.pid!) };
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
