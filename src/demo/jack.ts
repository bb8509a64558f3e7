// The periodic demo: JACK's processing thread is woken every period; a busier real-time
// thread of higher priority on its CPU makes it late, and JACK reports an xrun.

import { spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { type Demo, type DemoCpus, nodeScript, type RunningDemo, sleep } from "./demo.ts";
import type { DemoProcesses } from "./processes.ts";

const PERIOD_FRAMES = 256;
const RATE = 48_000;
/** jackd's processing thread runs SCHED_FIFO at this priority (jackd -P). */
const JACK_PRIORITY = 70;
/** The intruder: SCHED_FIFO above JACK, busy BURST_MS out of every EVERY_MS. */
const INTRUDER_PRIORITY = 80;
const BURST_MS = 20;
const EVERY_MS = 400;

/**
 * jackd's own report of an xrun of its processing thread: the dummy driver's cycle started
 * later than its deadline. (The client that cycle could not finish is reported too, as
 * `JackEngine::XRun: client … not finished`: a consequence of the same lateness, not counted.)
 */
export const XRUN_LINE = /JackTimedDriver::Process XRun/;

export const jackDemo: Demo = {
  name: "jack",
  summary: "periodic: JACK's processing thread made late by a real-time intruder (xruns)",
  needs: [
    { program: "jackd", apt: "jackd2" },
    { program: "jack_simple_client", apt: "jackd2" },
    { program: "jack_wait", apt: "jackd2" },
    { program: "taskset", apt: "util-linux" },
  ],
  trackers: { chain: "jack.chain.lt", fallback: "jack.lt", show: "jack" },
  start: startJack,
};

export const JACK_SERVER = "ltsh-demo";

async function startJack(processes: DemoProcesses, cpus: DemoCpus): Promise<RunningDemo> {
  const cpu = cpus.workload;
  // One name for every run: jackd reclaims the registry slot of a dead server of the same
  // name, where distinct names would fill JACK's 8 server slots after 8 killed demos.
  const server = JACK_SERVER;
  const env = { ...process.env, JACK_DEFAULT_SERVER: server, JACK_NO_START_SERVER: "1" };
  if (serverRuns(JACK_SERVER, env)) {
    throw new Error(`a JACK server named ${JACK_SERVER} already runs (another jack demo?)`);
  }
  const periodMs = ((PERIOD_FRAMES / RATE) * 1000).toFixed(1);
  const jackd = processes.start(
    [
      ...["taskset", "-c", String(cpu), "jackd", "-n", server, "-R", "-P", String(JACK_PRIORITY)],
      ...["-d", "dummy", "-r", String(RATE), "-p", String(PERIOD_FRAMES)],
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  // One late wakeup of the processing thread can miss several periods (a 20 ms burst over a
  // 5.3 ms period), and jackd logs an XRun per missed cycle: lines closer together than a
  // burst are one lateness, the unit the tracker's hits count.
  let xruns = 0;
  let xrunLines = 0;
  let lastXrunAt = Number.NEGATIVE_INFINITY;
  let exited: string | null = null;
  const listeners: (() => void)[] = [];
  for (const stream of [jackd.stdout, jackd.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      if (!XRUN_LINE.test(line)) return;
      xrunLines++;
      const now = performance.now();
      if (now - lastXrunAt > BURST_MS) xruns++;
      lastXrunAt = now;
      for (const listener of listeners) listener();
    });
  }
  jackd.on("exit", (code, signal) => {
    exited = `jackd exited (${signal ?? `status ${code}`})`;
  });
  await waitForServer(server, env, () => exited);
  processes.start(["taskset", "-c", String(cpu), "jack_simple_client"], { env });
  // The start-up's own xruns (the client joining) are not the fault's.
  await sleep(1000);
  const baseline = xruns;
  const baselineLines = xrunLines;
  let intruder: ReturnType<DemoProcesses["start"]> | null = null;
  return {
    story: [
      `running: jackd (dummy driver, ${PERIOD_FRAMES} frames at ${RATE} Hz: a ${periodMs} ms period, SCHED_FIFO ${JACK_PRIORITY}) and jack_simple_client, on CPU ${cpu}`,
      "watch: the HITS of jack (its processing thread running more than 8 ms after its timer fired) against jack's own xruns below",
    ],
    fault: `a SCHED_FIFO ${INTRUDER_PRIORITY} thread on CPU ${cpu}, busy ${BURST_MS} ms every ${EVERY_MS} ms`,
    snapshot: `rt-intruder on CPU ${cpu} under the hit, while jackd waits`,
    setFault(on) {
      if (on && !intruder) {
        // it takes its priority itself, once named: its start-up is no part of the fault
        intruder = processes.start(
          nodeScript(cpu, "busy-rt.mjs", INTRUDER_PRIORITY, BURST_MS, EVERY_MS),
        );
      } else if (!on && intruder) {
        processes.stop(intruder);
        intruder = null;
      }
    },
    status: () => [
      `jack's own xruns since start: ${xruns - baseline} (${xrunLines - baselineLines} XRun lines in jackd's log; lines within ${BURST_MS} ms are one)`,
    ],
    onChange: (listener) => listeners.push(listener),
    failure: () => exited,
  };
}

function serverRuns(server: string, env: NodeJS.ProcessEnv): boolean {
  const check = spawnSync("jack_wait", ["--check", "--server", server], { env, encoding: "utf8" });
  return /running/.test(check.stdout) && !/not running/.test(check.stdout);
}

/** Polls `jack_wait --check` until the server answers, jackd exits, or 10 s pass. */
async function waitForServer(
  server: string,
  env: NodeJS.ProcessEnv,
  exited: () => string | null,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const failure = exited();
    if (failure) throw new Error(failure);
    const check = spawnSync("jack_wait", ["--check", "--server", server], {
      env,
      encoding: "utf8",
    });
    if (/running/.test(check.stdout) && !/not running/.test(check.stdout)) return;
    await sleep(100);
  }
  throw new Error(`jackd did not start within 10 s (server ${server})`);
}
