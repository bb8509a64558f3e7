// The flight recorder's cost: `perf bench sched pipe` without and with the recorder running,
// alternated in the same run, and the time from a hit to its snapshot file on disk (buffer
// full). Writes the `## snapshot` section of BENCHMARKS.md.
// Run as root: node --import tsx bench/snapshot.ts [ROUNDS] [LOOPS] [--dry]

import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import type { TrackerPlan } from "../src/compiler/plan.ts";
import type { HitRecord } from "../src/records/types.ts";
import { FlightRecorder } from "../src/session/snapshot.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";

const numbers = process.argv.slice(2).filter((a) => a !== "--dry");
const rounds = Number(numbers[0] ?? 5);
const loops = Number(numbers[1] ?? 50_000);
const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ltsh-bench-snap-"));

/** `perf bench sched pipe`: µs per round trip (two context switches and two wakeups). */
function pipeUsecsPerOp(): number {
  const out = execFileSync("perf", ["bench", "sched", "pipe", "-l", String(loops)], {
    encoding: "utf8",
  });
  const match = /([\d.]+) usecs\/op/.exec(out);
  if (match === null) throw new Error(`unexpected perf output:\n${out}`);
  return Number(match[1]);
}

const RANGE = { file: "bench", line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, endOffset: 0 };
function side(category: string, name: string) {
  return {
    probe: { id: `${category}:${name}`, category, name, eventId: 0, fields: [] },
    key: [],
    filter: null,
    range: RANGE,
  };
}
/** The DESIGN.md example's events: sched_wakeup → sched_switch (also context events). */
const plan: TrackerPlan = {
  name: "wakeup",
  begins: [side("sched", "sched_wakeup")],
  ends: [side("sched", "sched_switch")],
  keyTypes: [],
  thresholdNs: 0,
  timeoutNs: null,
  keep: "first",
  capacity: 8192,
  actions: [{ kind: "snapshot", range: RANGE }],
  range: RANGE,
  source: "",
};

function hitEndingNow(): HitRecord {
  const now = process.hrtime.bigint();
  const ctx = (ts: bigint) => ({
    probe: "sched:sched_switch",
    ts_ns: ts,
    cpu: 0,
    tid: 0,
    pid: 0,
    comm: "bench",
  });
  return {
    type: "hit",
    tracker: plan.name,
    kind: "threshold",
    latency_ns: 1_000_000,
    key: [0n],
    begin: ctx(now - 1_000_000n),
    end: ctx(now),
    snapshot: null,
    stack: null,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const without: number[] = [];
const withRecorder: number[] = [];
// Keyed by the recorder's total buffer size in bytes.
const captureMs: Record<number, number[]> = {};
const snapshotBytes: Record<number, number[]> = {};
const snapshotEvents: Record<number, number[]> = {};
const warnings: string[] = [];
pipeUsecsPerOp(); // warm-up
/** Hit → file while a pipe run goes on, as hits happen under load; the buffer is full by then. */
async function captureUnderLoad(recorder: FlightRecorder): Promise<void> {
  const load = spawn("perf", ["bench", "sched", "pipe", "-l", String(loops * 20)], {
    stdio: "ignore",
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const start = process.hrtime.bigint();
  const path = await recorder.capture(hitEndingNow());
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (load.exitCode === null && load.signalCode === null) {
    load.kill();
    await once(load, "exit");
  }
  if (path === null) throw new Error("capture skipped");
  const buffer = recorder.settings.bufferBytes;
  const lines = readFileSync(path, "utf8").split("\n");
  const events = lines.filter((l) => l !== "" && !l.startsWith("#")).length;
  captureMs[buffer] = [...(captureMs[buffer] ?? []), ms];
  snapshotBytes[buffer] = [...(snapshotBytes[buffer] ?? []), statSync(path).size];
  snapshotEvents[buffer] = [...(snapshotEvents[buffer] ?? []), events];
}

function startRecorder(bufferBytes: number): FlightRecorder {
  const recorder = FlightRecorder.start({
    // margin 0: the hit-to-file time is the capture itself; the margin is waited before it.
    options: { "snapshot.dir": dir, "snapshot.margin": 0, "snapshot.buffer": bufferBytes },
    warn: (m) => warnings.push(m),
  });
  recorder.track(plan);
  return recorder;
}

const MiB = 1024 * 1024;
pipeUsecsPerOp(); // warm-up
for (let round = 0; round < rounds; round++) {
  without.push(pipeUsecsPerOp());
  const recorder = startRecorder(8 * MiB);
  try {
    withRecorder.push(pipeUsecsPerOp());
    await captureUnderLoad(recorder);
  } finally {
    await recorder.close();
  }
  const small = startRecorder(1 * MiB);
  try {
    await captureUnderLoad(small);
  } finally {
    await small.close();
  }
}
rmSync(dir, { recursive: true, force: true });

// Each round's two runs are back to back: their ratio is less exposed to the machine's other
// load than the ratio of the medians.
const costs = without.map((base, i) => (((withRecorder[i] as number) - base) / base) * 100);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} %`;
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root })
  .toString()
  .trim();
const perfVersion = execFileSync("perf", ["--version"], { encoding: "utf8" }).trim();
const fmt = (xs: number[], digits = 2) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const section = [
  "## snapshot",
  "",
  `Measured by \`bench/snapshot.ts\` (${rounds} rounds, \`perf bench sched pipe -l ${loops}\`, runs`,
  "without and with the recorder alternated) on",
  `${new Date().toISOString().slice(0, 10)} at ${commit}: Node ${process.versions.node}, Linux ${release()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}; shared with other jobs), ${perfVersion}.`,
  "The recorder: its own tracefs instance, overwrite mode, trace_clock mono, 8 MiB in total,",
  "the default context events (sched_switch, sched_waking, sched_wakeup, irq_handler_entry/exit,",
  "softirq_entry/exit) plus a sched_wakeup → sched_switch tracker's events.",
  "",
  "| perf bench sched pipe | median µs/op (min–max) |",
  "|---|---|",
  `| without the flight recorder | ${fmt(without)} |`,
  `| with the flight recorder | ${fmt(withRecorder)} |`,
  `| cost, median of the rounds' ratios | ${signed(median(costs))} (${signed(Math.min(...costs))} to ${signed(Math.max(...costs))}) |`,
  "",
  `Load average at the end: ${load}. perf bench sched pipe is the recorder's worst case: two`,
  "context switches and two wakeups per round trip, each one a recorded event.",
  "",
  "Time from a hit to its snapshot file on disk, buffer full, while a pipe run goes on",
  "(freeze, read the `trace` dump, cut the window, write, resume; `snapshot.margin`, 10 ms",
  "by default, is waited before this starts so that events after the end are in):",
  "",
  "| snapshot.buffer | capture ms | events in the window | file bytes |",
  "|---|---|---|---|",
  ...[8 * MiB, MiB].map(
    (b) =>
      `| ${b / MiB} MiB | ${fmt(captureMs[b] ?? [], 1)} | ${fmt(snapshotEvents[b] ?? [], 0)} | ${fmt(snapshotBytes[b] ?? [], 0)} |`,
  ),
  "",
  "The window is a hit of 1 ms with margin 0. The capture time grows with the buffer: the",
  "kernel formats the whole frozen buffer as text (the window is at its end), so a smaller",
  "`snapshot.buffer` freezes for less time and keeps a shorter history.",
  ...(warnings.length > 0
    ? ["", `Warnings during the run: ${[...new Set(warnings)].join("; ")}`]
    : []),
  "",
].join("\n");

// --dry: print only (trial runs must not rewrite the file others also write).
if (!process.argv.includes("--dry")) writeBenchmarkSection(section);
process.stdout.write(`${section}\n`);
