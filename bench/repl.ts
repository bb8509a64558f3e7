// Shell responsiveness under a flood of hits: the Ink app driven in-process through a fake
// 80x24 terminal, a synthetic session emitting HITS_PER_SECOND hits, keys typed one at a
// time; measures keypress→frame latency (the typed text on screen) and the process's CPU.
// Writes the "## shell" section of BENCHMARKS.md. Run: node --import tsx bench/repl.ts

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { cpus, loadavg, release } from "node:os";
import { Writable } from "node:stream";
import { render } from "ink";
import { createElement } from "react";
import { loadCatalog } from "../src/compiler/catalog/index.ts";
import { defaultOptions } from "../src/compiler/options.ts";
import type { TrackerPlan } from "../src/compiler/plan.ts";
import { checkLivePermissions } from "../src/kernel/permissions.ts";
import { LatencyStats } from "../src/records/stats.ts";
import type { HitRecord } from "../src/records/types.ts";
import { App } from "../src/repl/App.tsx";
import { type SessionOpener, ShellController } from "../src/repl/controller.ts";
import { compilerFrontEnd } from "../src/repl/front-end.ts";
import type { FrontEnd } from "../src/repl/statements.ts";
import { openSession } from "../src/session/backends.ts";
import type { Artifact, Session, SessionListener } from "../src/session/types.ts";
import { fakeFrontEnd } from "../test/repl/fake-session.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";

const KEYS = 305;
const KEY_GAP_MS = 40;
/** The first keys warm up the JIT and are not counted. */
const WARM_UP_KEYS = 5;
const GREEK = "αβγδεζηθικλμνξοπρστυφχψω";
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]|\u001B\][^\u0007]*\u0007/g;

/** Emits `rate` hits per second in 10 ms bursts, as a busy live tracker would. */
class FloodSession implements Session {
  readonly backend = "synthetic";
  private readonly stats_ = new Map<string, { plan: TrackerPlan; stats: LatencyStats }>();
  private timer: NodeJS.Timeout | null = null;
  private ts = 1_000_000_000n;
  constructor(
    private readonly listener: SessionListener,
    private readonly rate: number,
  ) {}

  async compile(plan: TrackerPlan): Promise<Artifact> {
    return { backend: "replay", plan };
  }

  async load(artifact: Artifact): Promise<void> {
    await this.add(artifact.plan);
  }

  async add(plan: TrackerPlan): Promise<void> {
    const stats = new LatencyStats(plan.name);
    this.stats_.set(plan.name, { plan, stats });
    const perBurst = this.rate / 100;
    if (perBurst > 0) this.timer ??= setInterval(() => this.burst(stats, plan.name, perBurst), 10);
  }

  private burst(stats: LatencyStats, tracker: string, count: number): void {
    for (let i = 0; i < count; i++) {
      const latency = 200_000 + ((i * 7919) % 100_000);
      stats.recordPair(latency);
      stats.hits++;
      this.ts += 100_000n;
      const context = {
        probe: "sched:sched_switch",
        ts_ns: this.ts,
        cpu: i % 2,
        tid: 1000 + i,
        pid: 1000,
        comm: "flood",
      };
      const hit: HitRecord = {
        type: "hit",
        tracker,
        kind: "threshold",
        latency_ns: latency,
        key: [BigInt(1000 + i)],
        begin: { ...context, ts_ns: this.ts - BigInt(latency) },
        end: context,
        snapshot: null,
        stack: null,
      };
      this.listener.hit(hit);
    }
  }

  async stop(): Promise<void> {}
  async remove(): Promise<void> {}
  stats() {
    return [...this.stats_.values()].map(({ plan, stats }) => ({
      tracker: plan.name,
      running: true,
      summary: stats.summary(),
    }));
  }
  async close() {
    if (this.timer) clearInterval(this.timer);
    return [...this.stats_.values()].map(({ stats }) => stats.summary());
  }
}

class Terminal extends Writable {
  columns = 80;
  rows = 24;
  isTTY = true;
  bytes = 0;
  onFrame: (text: string) => void = () => {};
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.bytes += chunk.length;
    this.onFrame(chunk.toString("utf8").replace(ANSI, ""));
    done();
  }
}

class Keyboard extends EventEmitter {
  isTTY = true;
  private pending: string | null = null;
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read(): string | null {
    const data = this.pending;
    this.pending = null;
    return data;
  }
  press(data: string): void {
    this.pending = data;
    this.emit("readable");
  }
}

interface Setup {
  label: string;
  frontEnd: FrontEnd;
  openSession: SessionOpener;
  tracker: string;
  /** Started once the tracker runs, killed at the end (the live case's load). */
  workload?: () => ChildProcess;
}

interface Result {
  label: string;
  /** Hits the session reported per second while keys were typed (measured). */
  hitsPerSecond: number;
  latencies: number[];
  cpuPercent: number;
  rssMiB: number;
  outputKiB: number;
}

function synthetic(rate: number): Setup {
  return {
    label: `synthetic, ${rate} hits/s`,
    frontEnd: fakeFrontEnd,
    openSession: async (listener) => new FloodSession(listener, rate),
    tracker: "track flood: sched_wakeup(pid) -> sched_switch(pid) > 100us",
  };
}

/** Every switch-out → switch-in of a task is a hit, under `perf bench sched pipe`. */
function live(): Setup {
  return {
    label: "live eBPF, perf bench sched pipe",
    frontEnd: compilerFrontEnd(loadCatalog(), "ebpf"),
    openSession: (listener, options) => openSession("ebpf", { listener, options }),
    tracker: "track sw: sched_switch(prev_pid) -> sched_switch(next_pid) > 1ns",
    workload: () =>
      spawn("perf", ["bench", "sched", "pipe", "-l", "100000000"], { stdio: "ignore" }),
  };
}

function totalHits(controller: ShellController): number {
  const stats = controller.currentSession()?.stats() ?? [];
  return stats.reduce((sum, s) => sum + s.summary.hits, 0);
}

async function measure(setup: Setup): Promise<Result> {
  const stdout = new Terminal();
  const stdin = new Keyboard();
  const controller = new ShellController({
    backend: setup.label,
    frontEnd: setup.frontEnd,
    openSession: setup.openSession,
    options: defaultOptions(),
  });
  const vocabulary = {
    commands: [],
    keywords: [],
    probes: () => [],
    fields: () => [],
    trackers: () => [],
    targets: [],
    files: () => [],
  };
  const app = render(createElement(App, { controller, vocabulary, onQuit: () => {} }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
    interactive: true,
    incrementalRendering: true, // as run-shell.tsx renders it
  });
  const started = await controller.submit(setup.tracker);
  if (!started.ok) throw new Error(started.error);
  const workload = setup.workload?.();
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the flood reach a steady state
  const latencies: number[] = [];
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const hitsStart = totalHits(controller);
  let typed = "";
  for (let i = 0; i < KEYS; i++) {
    if (typed.length >= GREEK.length - 1) {
      stdin.press("\u0015"); // Ctrl-U: start a fresh line
      typed = "";
      await new Promise((resolve) => setTimeout(resolve, KEY_GAP_MS));
    }
    // Greek letters appear nowhere else on screen, so a chunk holding one is its echo
    // (with incremental rendering only the changed end of the prompt line is written).
    const key = GREEK[i % GREEK.length];
    typed += key;
    const shown = new Promise<number>((resolve) => {
      const start = performance.now();
      stdout.onFrame = (text) => {
        if (text.includes(key)) resolve(performance.now() - start);
      };
      // An echo that never comes is reported as a 2 s latency rather than hanging the bench.
      setTimeout(() => resolve(2000), 2000);
    });
    stdin.press(key);
    const latency = await shown;
    if (i >= WARM_UP_KEYS) latencies.push(latency);
    await new Promise((resolve) => setTimeout(resolve, KEY_GAP_MS));
  }
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  const result = {
    label: setup.label,
    hitsPerSecond: ((totalHits(controller) - hitsStart) * 1000) / wallMs,
    latencies,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    outputKiB: stdout.bytes / 1024,
  };
  workload?.kill();
  await controller.closeSession();
  app.unmount();
  return result;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const results: Result[] = [];
for (const rate of [0, 10_000, 50_000]) results.push(await measure(synthetic(rate)));
const permitted = checkLivePermissions();
const liveSkipped = permitted.ok ? null : permitted.message;
if (permitted.ok) results.push(await measure(live()));

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const cells = (r: Result) => [
  r.label,
  Math.round(r.hitsPerSecond).toString(),
  quantile(r.latencies, 0.5).toFixed(1),
  quantile(r.latencies, 0.99).toFixed(1),
  Math.max(...r.latencies).toFixed(1),
  r.cpuPercent.toFixed(0),
];
const header = ["session", "hits/s", "p50 ms", "p99 ms", "max ms", "CPU %"];
const widths = header.map((h, i) => Math.max(h.length, ...results.map((r) => cells(r)[i].length)));
const tableRow = (values: string[]) =>
  `| ${values.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
const section = [
  "## shell",
  "",
  "Keypress→frame latency of the shell (until the typed text is in Ink's output) while a",
  `synthetic session floods it with hits: ${KEYS - WARM_UP_KEYS} keys ${KEY_GAP_MS} ms apart after ${WARM_UP_KEYS} warm-up keys, 80x24,`,
  `measured in-process by \`bench/repl.ts\` on ${new Date().toISOString().slice(0, 10)} at ${commit}: Node ${process.versions.node},`,
  `Linux ${release()}, ${cpus().length} CPUs shared with other work (load average ${loadavg()[0].toFixed(1)} at the end:`,
  "the tails are mostly waits for a CPU). CPU is the whole process (the synthetic",
  "hits included) as a share of one core. Goal: echo under 50 ms at 10,000 hits/s, under one core.",
  "Hits are batched every 100 ms and at most 50 per batch are echoed (the rest are counted in",
  "the table and the status line), so the output rate stays bounded whatever the hit rate.",
  "",
  "The live row runs a real eBPF tracker on every switch-out → switch-in under",
  "`perf bench sched pipe`; its hits/s is what the kernel delivered while keys were typed,",
  "far above the goal's 10,000, with the workload keeping both CPUs busy.",
  ...(liveSkipped ? [`(live row skipped: ${liveSkipped})`] : []),
  "",
  tableRow(header),
  tableRow(widths.map((w) => "-".repeat(w))),
  ...results.map((r) => tableRow(cells(r))),
  "",
].join("\n");

writeBenchmarkSection(section);
process.stdout.write(`${section}\n`);
for (const r of results) {
  process.stdout.write(
    `${r.label}: rss ${r.rssMiB.toFixed(0)} MiB, output ${r.outputKiB.toFixed(0)} KiB\n`,
  );
}
process.exit(0);
