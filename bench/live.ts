// Live tracing cost (issue #4): `perf bench sched pipe` µs/op untraced, with empty BPF
// programs on the same tracepoints (the floor), with `ltsh run examples/wakeup.lt` and with
// the equivalent bpftrace script; startup (process start → attached) and peak RSS of both.
// ltsh is measured twice: a first run (compiles: --no-cache) and the shipped figure, a repeat
// run whose programs come from the compiled cache. Writes the `## live` section of
// BENCHMARKS.md. Run as root:
//   node --import tsx bench/live.ts [--rounds 5] [--loops 200000] [--no-write]
//   node --import tsx bench/live.ts --startup-only 5   (startup, its CPU and peak RSS only, quick)

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { onCleanup } from "../src/kernel/cleanup.ts";
import { checkLivePermissions } from "../src/kernel/permissions.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import { changedPeerExample } from "./kmod-peer.ts";
import {
  benchWithPrograms,
  cpuTimeMs,
  hitDelivery,
  machineInfo,
  type ProgramCost,
  perfBench,
  sideBySide,
  traced,
  withBpfStats,
  withEmptyPrograms,
} from "./live-measure.ts";
import { DELIVERY_THRESHOLD_US, type Floor, report, type Tracer } from "./live-report.ts";

const ROOT = join(import.meta.dirname, "..");
const TRACEPOINTS = ["sched:sched_wakeup", "sched:sched_switch"]; // what wakeup.lt attaches to
/** Two levels below the root, so the bundle's require("../../package.json") still resolves. */
const BUNDLE_DIR = join(ROOT, ".bench-live", "dist");

/**
 * bpftrace's version of examples/wakeup.lt: threshold, histogram, a printed line per hit, the
 * switch-out's cancel after the switch-in's pairing.
 */
const BPFTRACE_SCRIPT = `
tracepoint:sched:sched_wakeup { @start[args->pid] = nsecs; }
tracepoint:sched:sched_switch /@start[args->next_pid]/ {
  $lat = nsecs - @start[args->next_pid];
  @hist = hist($lat);
  if ($lat > 200000) { printf("%d %s %d\\n", args->next_pid, args->next_comm, $lat); }
  delete(@start[args->next_pid]);
}
tracepoint:sched:sched_switch { delete(@start[args->prev_pid]); }`;

/** The same script printing each hit's end time the way ltsh's NDJSON does, line-buffered. */
const BPFTRACE_DELIVERY = BPFTRACE_SCRIPT.replace(
  'printf("%d %s %d\\n", args->next_pid, args->next_comm, $lat);',
  'printf("{\\"end\\":{\\"ts_ns\\":%llu}}\\n", nsecs);',
).replace("$lat > 200000", `$lat > ${DELIVERY_THRESHOLD_US * 1000}`);

interface Args {
  rounds: number;
  loops: number;
  write: boolean;
  /** Runs of each tracer for startup and RSS alone; 0: the full benchmark. */
  startupOnly: number;
  /**
   * Another checkout of ltsh (an earlier landing) whose first run is measured as a peer, so
   * that "did start-up get worse" is a ratio from one interleaved script, not two dates.
   */
  baseline: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 5, loops: 200_000, write: true, startupOnly: 0, baseline: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") args.rounds = Number(argv[++i]);
    else if (argv[i] === "--startup-only") args.startupOnly = Number(argv[++i]);
    else if (argv[i] === "--loops") args.loops = Number(argv[++i]);
    else if (argv[i] === "--no-write") args.write = false;
    else if (argv[i] === "--baseline") args.baseline = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

/** Bundles `source` (an ES module) into BUNDLE_DIR/NAME.mjs with esbuild. */
function buildBundle(name: string, source: string): string {
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const entry = join(BUNDLE_DIR, `${name}-entry.ts`);
  const out = join(BUNDLE_DIR, `${name}.mjs`);
  writeFileSync(entry, source);
  // Ink's optional devtools import would otherwise become a static import of a missing package.
  writeFileSync(join(BUNDLE_DIR, "devtools-stub.mjs"), "export default {};\n");
  execFileSync(
    join(ROOT, "node_modules/.bin/esbuild"),
    [
      entry,
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node22",
      "--external:koffi",
      "--alias:react-devtools-core=./devtools-stub.mjs",
      "--log-level=warning",
      `--outfile=${out}`,
      "--banner:js=import { createRequire as __ltshRequire } from 'node:module'; const require = __ltshRequire(import.meta.url);",
    ],
    { cwd: BUNDLE_DIR },
  );
  return out;
}

const src = (path: string) => JSON.stringify(join(ROOT, path));

/**
 * The floor of any tracer written for Node: a script that only loads and attaches two empty
 * programs through src/kernel (no compiler, no catalog, no session).
 */
function nodeFloorTracer(): Tracer {
  const tracer: Tracer = {
    label: "reference: Node + koffi attaching two empty programs",
    short: "node-floor",
    command: [],
    runs: [],
    error: null,
  };
  const source = [
    'import { readFileSync } from "node:fs";',
    `import { BpfProgType, loadProgram } from ${src("src/kernel/bpf.ts")};`,
    `import { attachTracepoint } from ${src("src/kernel/perf.ts")};`,
    "const insns = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);",
    `for (const tp of ${JSON.stringify(TRACEPOINTS)}) {`,
    '  const id = Number(readFileSync("/sys/kernel/tracing/events/" + tp.replace(":", "/") + "/id", "utf8"));',
    '  const fd = loadProgram({ name: "ltsh_floor", type: BpfProgType.TRACEPOINT, insns, license: "GPL" });',
    "  attachTracepoint(fd, id);",
    "}",
    'process.on("SIGINT", () => process.exit(0));',
    "setInterval(() => {}, 1 << 30);",
  ].join("\n");
  try {
    tracer.command = [process.execPath, buildBundle("node-floor", source)];
  } catch (e) {
    tracer.error = `bundling failed: ${(e as Error).message.split("\n").slice(1, 3).join(" / ")}`;
  }
  return tracer;
}

/** examples/wakeup.lt with the delivery threshold (its compiled programs are cached too). */
function deliveryTracker(): string {
  const path = join(ROOT, ".bench-live", "wakeup-delivery.lt");
  const text = readFileSync(join(ROOT, "examples", "wakeup.lt"), "utf8");
  const lowered = text.replace("> 200us", `> ${DELIVERY_THRESHOLD_US}us`);
  if (lowered === text) throw new Error("examples/wakeup.lt no longer has '> 200us'");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lowered);
  return path;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const perms = checkLivePermissions();
  if (!perms.ok) throw new Error(perms.message);
  onCleanup(() => rmSync(join(ROOT, ".bench-live"), { recursive: true, force: true }));
  const info = machineInfo();
  const run = ["run", "examples/wakeup.lt"];
  const tracers: Tracer[] = [
    // bin/ltsh.js is itself a bundle of the sources with V8's compile cache (scripts/bundle.mjs).
    nodeFloorTracer(), // first: the side-by-side and delivery runs take the last ltsh
    {
      label: "ltsh first run (bin/ltsh.js --no-cache: parses, checks, generates)",
      short: "ltsh/cold",
      command: [process.execPath, "bin/ltsh.js", ...run, "--no-cache"],
      runs: [],
      error: null,
    },
    {
      label: "ltsh (bin/ltsh.js, as shipped: a repeat run, programs from the compiled cache)",
      short: "ltsh/bin",
      command: [process.execPath, "bin/ltsh.js", ...run],
      runs: [],
      error: null,
    },
    {
      label: "bpftrace",
      short: "bpftrace",
      command: ["bpftrace", "-e", BPFTRACE_SCRIPT],
      runs: [],
      error: null,
    },
  ];
  if (args.baseline) {
    tracers.splice(2, 0, baselineTracer(args.baseline));
    const same = peerTextTracer(args.baseline);
    if (same) tracers.splice(3, 0, same);
  }
  const baseline: number[] = [];
  const floor: Floor[] = [];
  const costs: ProgramCost[] = [];
  const delays: number[] = [];
  const peerDelays: number[] = [];
  try {
    // Build the start-up bundle, warm V8's compile cache and store wakeup.lt's programs in
    // the compiled cache, so that round 1 pays for none of them (twice: a run that rebuilds
    // the bundle caches nothing).
    for (let i = 0; i < 2; i++) {
      execFileSync(process.execPath, ["bin/ltsh.js", ...run, "--for", "10ms"], {
        cwd: ROOT,
        stdio: "ignore",
      });
    }
    if (args.startupOnly > 0) {
      await startupOnly(tracers, args.startupOnly);
      return;
    }
    await withBpfStats(async () => {
      // Interleaved rounds: the machine is shared, so drift hits every configuration alike.
      for (let round = 1; round <= args.rounds; round++) {
        baseline.push(perfBench(args.loops));
        floor.push(withEmptyPrograms(TRACEPOINTS, (ids) => benchWithPrograms(ids, args.loops)));
        for (const t of tracers) await measure(t, args.loops);
        // ltsh (the bundle when it built) and bpftrace attached together, in alternating order.
        const ours = tracers.slice(0, -1).findLast((t) => t.error === null);
        const peer = tracers[tracers.length - 1];
        if (ours !== undefined && peer.error === null) {
          const pair = round % 2 === 1 ? [ours, peer] : [peer, ours];
          costs.push(...(await sideBySide(pair, ROOT, TRACEPOINTS.length, args.loops)));
        }
        if (ours !== undefined) {
          const json = [...ours.command, "--json"].map((a) =>
            a === "examples/wakeup.lt" ? deliveryTracker() : a,
          );
          delays.push(...(await hitDelivery(json, ROOT, TRACEPOINTS.length, args.loops)));
        }
        if (peer.error === null) {
          const bt = ["bpftrace", "-B", "line", "-e", BPFTRACE_DELIVERY];
          peerDelays.push(...(await hitDelivery(bt, ROOT, TRACEPOINTS.length, args.loops)));
        }
        const last = (xs: number[]) => (xs.length ? xs[xs.length - 1].toFixed(2) : "n/a");
        const each = tracers.map((t) => `${t.short} ${last(t.runs.map((r) => r.usPerOp))}`);
        console.error(
          `round ${round}: baseline ${last(baseline)} floor ${last(floor.map((f) => f.usPerOp))} ` +
            `${each.join(" ")} µs/op`,
        );
      }
    });
  } finally {
    rmSync(join(ROOT, ".bench-live"), { recursive: true, force: true });
  }
  const section = report({
    rounds: args.rounds,
    loops: args.loops,
    info,
    baseline,
    floor,
    tracers,
    costs,
    delays,
    peerDelays,
    bpftraceScript: BPFTRACE_SCRIPT,
  });
  console.log(section);
  if (args.write) writeBenchmarkSection(section);
}

/** The first run of an older checkout (its own node_modules: the bundle cache lives there). */
function baselineTracer(dir: string): Tracer {
  const rev = execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  }).trim();
  for (let i = 0; i < 2; i++) {
    execFileSync(
      process.execPath,
      [join(dir, "bin/ltsh.js"), "run", join(dir, "examples/wakeup.lt"), "--for", "10ms"],
      { stdio: "ignore" },
    );
  }
  return {
    label: `ltsh first run at ${rev} (the peer: ${dir}, --no-cache)`,
    short: `ltsh/${rev}`,
    command: [
      process.execPath,
      join(dir, "bin/ltsh.js"),
      "run",
      join(dir, "examples/wakeup.lt"),
      "--no-cache",
    ],
    runs: [],
    error: null,
  };
}

/**
 * This checkout's first run of the peer's examples/wakeup.lt, when its text differs from ours
 * (null when it does not): the same work as the peer's row, so that a clause added since
 * (wakeup.lt's cancel) is not counted against the code.
 */
function peerTextTracer(dir: string): Tracer | null {
  const theirs = changedPeerExample(dir, ROOT, "wakeup");
  if (theirs === null) return null;
  const rev = execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  }).trim();
  const path = join(ROOT, ".bench-live", "wakeup-as-peer.lt");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, theirs);
  return {
    label: `ltsh first run (--no-cache) of ${rev}'s examples/wakeup.lt: the peer's work`,
    short: "ltsh/peer-text",
    command: [process.execPath, "bin/ltsh.js", "run", path, "--no-cache"],
    runs: [],
    error: null,
  };
}

/**
 * Startup (start → both tracepoints attached, per bpftool), the CPU time spent by then
 * (user + sys, 10 ms ticks) and peak RSS, medians of `runs`.
 */
async function startupOnly(tracers: Tracer[], runs: number): Promise<void> {
  const results = new Map<Tracer, { ms: number[]; cpu: number[]; mb: number[] }>();
  for (let i = 0; i < runs; i++) {
    for (const t of tracers.filter((t) => t.error === null)) {
      const r = results.get(t) ?? { ms: [], cpu: [], mb: [] };
      results.set(t, r);
      const child = spawn(t.command[0], t.command.slice(1), { cwd: ROOT, stdio: "ignore" });
      const t0 = performance.now();
      try {
        while (attachedCount(child.pid!) < TRACEPOINTS.length) {
          if (child.exitCode !== null) throw new Error(`${t.short} exited (${child.exitCode})`);
          if (performance.now() - t0 > 30_000) throw new Error(`${t.short} did not attach`);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        r.ms.push(performance.now() - t0);
        r.cpu.push(cpuTimeMs(child.pid!));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        r.mb.push(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024);
      } finally {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGINT");
        await exited;
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [t, r] of results) {
    const ms = median(r.ms).toFixed(0);
    const mb = median(r.mb).toFixed(1);
    console.log(
      `${t.label}: startup ${ms} ms (of ${r.ms.map((x) => x.toFixed(0))}), ` +
        `CPU ${median(r.cpu)} ms, VmHWM ${mb} MB`,
    );
  }
}

/** Tracepoint attachments of a process, as `bpftool perf show` lists them. */
function attachedCount(pid: number): number {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  return (JSON.parse(out) as { pid: number; tracepoint?: string }[]).filter(
    (e) => e.pid === pid && e.tracepoint,
  ).length;
}

async function measure(t: Tracer, loops: number): Promise<void> {
  if (t.error !== null) return;
  try {
    t.runs.push(await traced(t.command, ROOT, TRACEPOINTS.length, loops));
  } catch (e) {
    t.error = (e as Error).message.trim().split("\n").slice(0, 3).join(" / ");
  }
}

main().catch((e) => {
  console.error(`bench/live: ${(e as Error).message}`);
  process.exit(1);
});
