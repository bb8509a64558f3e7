// Shared by the live-backend kernel suites: compile .lt text against this kernel's tracefs,
// run a LiveSession around a workload, count this process's BPF objects, spawn workloads,
// record the same events through tracefs and replay them (live-vs-replay differentials).

import { spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSource } from "../../src/compiler/compile.ts";
import type { FilePlan } from "../../src/compiler/plan.ts";
import { TracefsInstance } from "../../src/kernel/tracefs.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { LiveSession } from "../../src/session/live.ts";

export function compileText(text: string, file = "test.lt"): FilePlan {
  const { plan, diagnostics } = compileSource(text, file);
  if (!plan) throw new Error(`does not compile:\n${diagnostics.map((d) => d.message).join("\n")}`);
  return plan;
}

export interface LiveRun {
  hits: HitRecord[];
  warnings: string[];
  summaries: SummaryRecord[];
}

/**
 * Runs every tracker of `plan` live while `workload` runs (given the hits delivered so far),
 * then closes the session.
 */
export async function runLive(
  plan: FilePlan,
  workload: (hits: readonly HitRecord[]) => Promise<void>,
): Promise<LiveRun> {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
  });
  try {
    for (const t of plan.trackers) await session.add(t);
    await workload(hits);
  } catch (error) {
    await session.close();
    throw error;
  }
  return { hits, warnings, summaries: await session.close() };
}

/** This process's open BPF objects, by kind ("bpf-prog", "bpf-map", "perf_event"). */
export function openBpfFds(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^anon_inode:\[?([a-z_-]+)/.exec(target);
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

/** Runs a command to completion; resolves with its pid. */
export function run(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(child.pid!) : reject(new Error(`${argv[0]} exited ${code}`)),
    );
  });
}

/** A copy of a program named so its comm is distinctive; removed by the returned cleanup. */
export function namedCopy(program: string, name: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-live-"));
  const path = join(dir, name);
  copyFileSync(program, path);
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function namedSleep(name: string): { path: string; remove: () => void } {
  return namedCopy("/bin/sleep", name);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Records `events` through a tracefs instance while `during` runs, into a temporary trace
 * file; `use` gets its path (removed afterwards). LTSH_KEEP_TRACE=FILE keeps a copy.
 */
export async function recordDuring<T>(
  events: string[],
  during: () => Promise<T>,
  use: (tracePath: string, result: T) => Promise<void>,
  bufferKiB = 8192,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-diff-"));
  const recording = TracefsInstance.create({
    purpose: "difftest",
    bufferKiB,
    overwrite: false,
  });
  try {
    recording.enableEvents(recording.resolveEvents(events).events);
    recording.resume();
    const result = await during();
    recording.freeze();
    await sleep(50); // events already in flight on other CPUs land before we read
    if (recording.bufferStats().dropped !== 0) throw new Error("the recording lost events");
    const tracePath = join(dir, "trace.txt");
    const text = recording.readTrace();
    writeFileSync(tracePath, text);
    if (process.env.LTSH_KEEP_TRACE) writeFileSync(process.env.LTSH_KEEP_TRACE, text);
    await use(tracePath, result);
  } finally {
    recording.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The reference: every tracker of `plan` replayed over a recorded trace. */
export async function replayTrace(path: string, plan: FilePlan): Promise<LiveRun> {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = await openSession("replay", {
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
    replay: { path },
  });
  for (const t of plan.trackers) await session.add(t);
  await session.done?.();
  return { hits, warnings, summaries: await session.close() };
}

/**
 * N datagrams, `gapMs` apart, to a reader thread named udp-reader, each sent once the reader
 * is blocked in recv (up to 1 s); with `busyMs` the reader spins that long after each datagram before it blocks again;
 * it writes a byte to /dev/null after each (a syscall a `->` hand-off can key on).
 */
export function udpWorkload(count: number, { gapMs = 2, busyMs = 0 } = {}): string {
  return [
    "import socket, threading, time, ctypes, os",
    "libc = ctypes.CDLL(None)",
    'null = os.open("/dev/null", os.O_WRONLY)',
    "tids = []",
    "def reader(sock):",
    '    libc.prctl(15, b"udp-reader", 0, 0, 0)',
    "    tids.append(threading.get_native_id())",
    `    for _ in range(${count}):`,
    '        sock.recv(64); os.write(null, b"x"); t0 = time.time()',
    `        while time.time() - t0 < ${busyMs / 1000}: pass`,
    // each datagram finds the reader asleep in recvfrom(2) (x86-64 syscall 45): so that
    // its waking is the datagram's, however late a loaded machine runs the reader
    "def asleep_in_recv():",
    "    deadline = time.time() + 1",
    "    while time.time() < deadline:",
    "        with open(f'/proc/self/task/{tids[0]}/syscall') as f:",
    "            if f.read().split()[0] == '45': return",
    "        time.sleep(0.0002)",
    'r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))',
    "t = threading.Thread(target=reader, args=(r,)); t.start()",
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    "time.sleep(0.05)",
    `for i in range(${count}):`,
    `    asleep_in_recv(); s.sendto(b"x", r.getsockname()); time.sleep(${gapMs / 1000})`,
    "t.join()",
  ].join("\n");
}

/** Runs a command; resolves with its stdout. */
export function output(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv[0]} exited ${code}`)),
    );
  });
}

/** The stage kinds of a hit, and whether its durations add up to its latency. */
export function shape(hit: HitRecord): { kinds: string[]; sums: boolean } {
  const chain = hit.chain ?? [];
  const total = chain.reduce((n, s) => n + s.dur_ns, 0);
  return { kinds: chain.map((s) => s.stage), sums: total === hit.latency_ns };
}
