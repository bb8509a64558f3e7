// Live tracing cost (issue #4): `perf bench sched pipe` µs/op untraced, with empty BPF
// programs on the same tracepoints (the floor), with `ltsh run examples/wakeup.lt` and with
// the equivalent bpftrace script; startup (process start → attached) and peak RSS of both.
// Writes the `## live` section of BENCHMARKS.md. Run as root:
//   node --import tsx bench/live.ts [--rounds 5] [--loops 200000] [--no-write]

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { BpfProgType, closeFd, loadProgram } from "../src/kernel/bpf.ts";
import { attachTracepoint } from "../src/kernel/perf.ts";
import { checkLivePermissions, findTracefs } from "../src/kernel/permissions.ts";

const ROOT = join(import.meta.dirname, "..");
const LTSH_ARGV = ["bin/ltsh.js", "run", "examples/wakeup.lt"];
const TRACEPOINTS = ["sched:sched_wakeup", "sched:sched_switch"]; // what wakeup.lt attaches to

/** bpftrace's version of examples/wakeup.lt: threshold, histogram, a printed line per hit. */
const BPFTRACE_SCRIPT = `
tracepoint:sched:sched_wakeup { @start[args->pid] = nsecs; }
tracepoint:sched:sched_switch /@start[args->next_pid]/ {
  $lat = nsecs - @start[args->next_pid];
  @hist = hist($lat);
  if ($lat > 200000) { printf("%d %s %d\\n", args->next_pid, args->next_comm, $lat); }
  delete(@start[args->next_pid]);
}`;

interface Args {
  rounds: number;
  loops: number;
  write: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 5, loops: 200_000, write: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") args.rounds = Number(argv[++i]);
    else if (argv[i] === "--loops") args.loops = Number(argv[++i]);
    else if (argv[i] === "--no-write") args.write = false;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** µs per op of `perf bench sched pipe` (two tasks ping-ponging through pipes). */
function perfBench(loops: number): number {
  const out = execFileSync("perf", ["bench", "sched", "pipe", "-l", String(loops)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const m = /([\d.]+)\s+usecs\/op/.exec(out);
  if (m === null) throw new Error(`cannot read perf bench output:\n${out}`);
  return Number(m[1]);
}

/** The floor: the cost of merely running a BPF program on each tracepoint hit. */
function withEmptyPrograms<T>(fn: () => T): T {
  const tracefs = findTracefs()!;
  const attached = TRACEPOINTS.map((tp) => {
    const [category, name] = tp.split(":");
    const id = Number(readFileSync(`${tracefs}/events/${category}/${name}/id`, "utf8"));
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

interface Traced {
  usPerOp: number;
  startupMs: number;
  peakRssMb: number;
}

/** Tracepoints attached by pid, from `bpftool perf show` (what a user would check). */
function attachedCount(pid: number): number {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  const entries = JSON.parse(out) as { pid: number; attach_info?: string; tracepoint?: string }[];
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

/** Starts a tracer, waits until its programs are attached, runs the benchmark, stops it. */
async function traced(cmd: string, argv: string[], loops: number): Promise<Traced> {
  const t0 = performance.now();
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const startupMs = await waitAttached(child, TRACEPOINTS.length, t0);
    const usPerOp = perfBench(loops);
    const rss = peakRssMb(child.pid!);
    return { usPerOp, startupMs, peakRssMb: rss };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${stderr}`);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number, digits = 2) => x.toFixed(digits);

function machineInfo(): string[] {
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
      return "absent";
    }
  };
  return [
    `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} CPUs; Linux ${version("uname", ["-r"])}`,
    `Node ${process.versions.node}; ${version("perf", ["--version"])}; ${version("bpftrace", ["--version"])}`,
  ];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const perms = checkLivePermissions();
  if (!perms.ok) throw new Error(perms.message);
  const runs = {
    baseline: [] as number[],
    floor: [] as number[],
    ltsh: [] as Traced[],
    bpftrace: [] as Traced[],
  };
  // Warm tsx's transform cache so round 1 does not pay for compiling ltsh.
  execFileSync(process.execPath, ["bin/ltsh.js", "check", "examples/wakeup.lt"], {
    cwd: ROOT,
    stdio: "ignore",
  });
  let ltshError: string | null = null;
  // Interleaved rounds: the machine is shared, so drift hits every configuration alike.
  for (let round = 1; round <= args.rounds; round++) {
    runs.baseline.push(perfBench(args.loops));
    runs.floor.push(withEmptyPrograms(() => perfBench(args.loops)));
    if (ltshError === null) {
      try {
        runs.ltsh.push(await traced(process.execPath, LTSH_ARGV, args.loops));
      } catch (e) {
        ltshError = (e as Error).message.trim().split("\n").slice(0, 3).join(" / ");
      }
    }
    runs.bpftrace.push(await traced("bpftrace", ["-e", BPFTRACE_SCRIPT], args.loops));
    const last = (xs: (number | Traced)[]) => {
      const x = xs[xs.length - 1];
      if (x === undefined) return "n/a";
      return fmt(typeof x === "number" ? x : x.usPerOp);
    };
    console.error(
      `round ${round}: baseline ${last(runs.baseline)} floor ${last(runs.floor)} ` +
        `ltsh ${last(runs.ltsh)} bpftrace ${last(runs.bpftrace)} µs/op`,
    );
  }
  const section = report(args, runs, ltshError);
  console.log(section);
  if (args.write) writeSection(join(ROOT, "BENCHMARKS.md"), section);
}

function report(
  args: Args,
  runs: { baseline: number[]; floor: number[]; ltsh: Traced[]; bpftrace: Traced[] },
  ltshError: string | null,
): string {
  const base = median(runs.baseline);
  const floor = median(runs.floor);
  const ltsh = median(runs.ltsh.map((r) => r.usPerOp));
  const bpftrace = median(runs.bpftrace.map((r) => r.usPerOp));
  const ratio = (ltsh - floor) / (bpftrace - floor);
  const lStart = median(runs.ltsh.map((r) => r.startupMs));
  const bStart = median(runs.bpftrace.map((r) => r.startupMs));
  const lRss = Math.max(...runs.ltsh.map((r) => r.peakRssMb));
  const bRss = Math.max(...runs.bpftrace.map((r) => r.peakRssMb));
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
  return [
    "## live",
    "",
    `Measured ${new Date().toISOString().slice(0, 16)}Z by \`node --import tsx bench/live.ts\` ` +
      `(${args.rounds} interleaved rounds, medians; \`perf bench sched pipe -l ${args.loops}\`).`,
    ...machineInfo().map((l) => `- ${l}`),
    "",
    "| configuration | µs/op |",
    "| --- | --- |",
    `| no tracing | ${fmt(base)} |`,
    `| empty BPF programs on sched_wakeup + sched_switch (floor) | ${fmt(floor)} |`,
    `| ltsh run examples/wakeup.lt | ${fmt(ltsh)} |`,
    "| bpftrace, equivalent script | " + `${fmt(bpftrace)} |`,
    "",
    "| goal | ltsh | bpftrace | ratio | target | |",
    "| --- | --- | --- | --- | --- | --- |",
    `| overhead above the floor | ${fmt(ltsh - floor)} µs/op | ${fmt(bpftrace - floor)} µs/op | ${fmt(ratio)} | ≤ 0.5 | ${verdict(ratio <= 0.5)} |`,
    `| startup, process start → attached | ${fmt(lStart, 0)} ms | ${fmt(bStart, 0)} ms | ${fmt(lStart / bStart)} | ≤ 0.25 | ${verdict(lStart / bStart <= 0.25)} |`,
    `| peak RSS (VmHWM) | ${fmt(lRss, 1)} MB | ${fmt(bRss, 1)} MB | ${fmt(lRss / bRss)} | ≤ 0.6 | ${verdict(lRss / bRss <= 0.6)} |`,
    ...(ltshError === null ? [] : ["", `ltsh could not be measured: ${ltshError}`]),
    "",
    "The bpftrace script (same tracepoints, threshold, histogram, a line per hit):",
    "",
    "```",
    BPFTRACE_SCRIPT.trim(),
    "```",
    "",
  ].join("\n");
}

/** Replaces (or appends) only the `## live` section; other sections belong to others. */
function writeSection(path: string, section: string): void {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "# Benchmarks\n\n";
  }
  const start = text.search(/^## live$/m);
  if (start < 0) {
    writeFileSync(path, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const rest = text.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next < 0 ? text.length : start + 1 + next;
  writeFileSync(path, `${text.slice(0, start)}${section}\n${text.slice(end)}`.trimEnd() + "\n");
}

main().catch((e) => {
  console.error(`bench/live: ${(e as Error).message}`);
  process.exit(1);
});
