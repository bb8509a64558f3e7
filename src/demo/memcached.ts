// The aperiodic demos: memcached on loopback answering a steady client. memcached-irq delays
// the start of requests with long interrupt work on the server's CPU; memcached-log delays
// their end with the server's own logging, blocked on a slow reader.

import { connect, createServer } from "node:net";
import { type Demo, type DemoCpus, nodeScript, type RunningDemo, sleep } from "./demo.ts";
import type { DemoProcesses } from "./processes.ts";
import { SlowSink } from "./slow-sink.ts";

const NEEDS = [
  { program: "memcached", apt: "memcached" },
  { program: "taskset", apt: "util-linux" },
  { program: "chrt", apt: "util-linux" },
  { program: "mkfifo", apt: "coreutils" },
];
const REQUESTS_PER_SECOND = 500;
const SERVER_PRIORITY = 50;
/** Timers armed to expire together: ~10 ms of timer interrupt on this class of machine. */
const STORM_TIMERS = 19_000;
const STORM_EVERY_MS = 250;

export const memcachedIrqDemo: Demo = {
  name: "memcached-irq",
  summary: "aperiodic, a request's start: long interrupt work on the server's CPU",
  needs: NEEDS,
  trackers: { chain: "memcached-irq.chain.lt", fallback: "memcached-irq.lt", show: "request" },
  async start(processes, cpus) {
    const cpu = cpus.workload;
    const port = await startMemcached(processes, cpu, []);
    startClient(processes, cpus.client, port, 16);
    let storm: ReturnType<DemoProcesses["start"]> | null = null;
    return {
      story: [
        `running: memcached (one worker, mc-worker, SCHED_FIFO ${SERVER_PRIORITY} on CPU ${cpu}: only interrupts can hold it up; 127.0.0.1:${port}) and a client sending ${REQUESTS_PER_SECOND} gets/s from CPU ${cpus.client}`,
        "watch: request (a packet until mc-worker runs to answer it); the time lands in the link from its waking to its run",
      ],
      fault: `${STORM_TIMERS} timers expiring together on CPU ${cpu} every ${STORM_EVERY_MS} ms: ~10 ms in one timer interrupt, standing for a slow driver's interrupt handler`,
      snapshot: `the timer interrupt (H, irq local_timer) on CPU ${cpu} under the hit, then mc-worker runs`,
      setFault(on) {
        if (on && !storm) {
          storm = processes.start(nodeScript(cpu, "timer-storm.mjs", STORM_TIMERS, STORM_EVERY_MS));
        } else if (!on && storm) {
          processes.stop(storm);
          storm = null;
        }
      },
      failure: () => null,
    };
  },
};

export const memcachedLogDemo: Demo = {
  name: "memcached-log",
  summary: "aperiodic, a request's end: the server's logging blocked on slow output",
  needs: NEEDS,
  trackers: { chain: "memcached-log.chain.lt", fallback: "memcached-log.lt", show: "logwrite" },
  async start(processes: DemoProcesses, cpus: DemoCpus): Promise<RunningDemo> {
    const cpu = cpus.workload;
    const sink = new SlowSink(processes.dir);
    const port = await startMemcached(processes, cpu, ["-vv"], sink.writeFd);
    sink.closeWriteEnd();
    startClient(processes, cpus.client, port, 200);
    return {
      story: [
        `running: memcached -vv (every request logged to stderr, a pipe that ltsh reads) on CPU ${cpu}, 127.0.0.1:${port}, and a client sending ${REQUESTS_PER_SECOND} gets/s`,
        "watch: request (a packet until mc-worker sends the answer; the time lands between its read and its send) and logwrite (its logging write to stderr)",
      ],
      fault: `the log reader slows down to ${SlowSink.SLOW_BYTES_PER_SECOND / 1024} KiB/s, less than the log grows: the pipe fills and the worker blocks in write(2)`,
      snapshot:
        "mc-worker off its CPU in write(2) under the hit, back (R) when the reader made room",
      setFault: (on) => sink.setSlow(on),
      failure: () => null,
    };
  },
};

/** Starts memcached (one worker thread, loopback, no UDP) and waits until it accepts. */
async function startMemcached(
  processes: DemoProcesses,
  cpu: number,
  flags: string[],
  stderrFd?: number,
): Promise<number> {
  const port = await freePort();
  // SCHED_FIFO: no other task delays the worker, so what does is interrupt work (or itself).
  const argv = ["chrt", "-f", String(SERVER_PRIORITY), "taskset", "-c", String(cpu)];
  argv.push("memcached", "-u", "root", "-l", "127.0.0.1");
  argv.push("-p", String(port), "-U", "0", "-t", "1", "-m", "16", ...flags);
  const server = processes.start(argv, {
    stdio: ["ignore", "ignore", stderrFd ?? "ignore"],
  });
  let exited: string | null = null;
  server.on("exit", (code, signal) => {
    exited = `memcached exited (${signal ?? `status ${code}`})`;
  });
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (exited) throw new Error(exited);
    if (Date.now() > deadline) throw new Error(`memcached did not listen on ${port} within 5 s`);
    await sleep(50);
  }
  return port;
}

function startClient(processes: DemoProcesses, cpu: number, port: number, keyLength: number): void {
  processes.start(nodeScript(cpu, "mc-client.mjs", port, REQUESTS_PER_SECOND, keyLength));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
