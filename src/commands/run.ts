// `ltsh run FILE.lt`: runs every tracker of a file on one backend (live eBPF by default,
// kmod, or a recorded trace with --replay), prints hits as they come, then summaries.

// The compiler is imported by prepareRun() only when the compiled cache cannot serve the file.

import { writeSync } from "node:fs";
import { hasAction } from "../compiler/actions.ts";
import type { TrackerPlan } from "../compiler/plan.ts";
import { DURATION_UNITS } from "../compiler/units.ts";
import type { MetricsServer } from "../metrics/server.ts";
import { formatHitLine, formatSummary, hitToJson, summaryToJson } from "../records/output.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import { openSession, type SessionOptions } from "../session/backends.ts";
import { type Artifact, type Session, startAll } from "../session/types.ts";
import { BACKEND_FLAGS, chooseBackend, METRICS_FLAG, metricsAddress } from "./backend-flags.ts";
import { type PreparedRun, prepareRun } from "./run-prepare.ts";
import { type Command, parseCommandArgs, UsageError, VERSION } from "./usage.ts";

/** "10s", "500ms", "2m" → milliseconds; a bare number is seconds. */
export function parseDurationArg(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} expects a duration such as 10s or 500ms, not '${text}'`);
  const unit = m[2] ?? "s";
  const ns = unit === "m" ? 60e9 : Number(DURATION_UNITS[unit]);
  const ms = (Number(m[1]) * ns) / 1e6;
  if (ms <= 0) throw new UsageError(`${flag} must be longer than zero`);
  return ms;
}

export const runCommand: Command = {
  name: "run",
  help: `Usage: ltsh run FILE.lt [--replay TRACE [--format F] [--speed S] [--strict]]
                   [--target ebpf|kmod] [--for DURATION] [--json] [--catalog FILE]
                   [--no-cache] [--metrics [HOST]:PORT]

Runs every tracker of FILE.lt at once. Each hit is printed as it is found
(time, tracker, latency, key, begin and end task and CPU); when the trace
ends, --for expires or Ctrl-C is pressed, each tracker's summary follows:
pairs, hits, timeouts, dropped, pending, min/p50/p99/max and a histogram.

Options:
  --replay TRACE   replay a recorded trace instead of tracing live ("-": stdin;
                   gzip is read transparently)
  --format F       the trace's format: ftrace, perf or babeltrace
                   (default: detected from its first lines)
  --speed S        replay pace: 1 = trace time, 10 = ten times faster,
                   max = as fast as possible (default)
  --strict         malformed trace lines are fatal (default: counted, skipped)
  --target T       live backend: ebpf (default) or kmod
  --for DURATION   stop after this long (10s, 500ms, 2m)
  --json           NDJSON: one "hit" record per hit, one "summary" per tracker
  --catalog FILE   tracepoint catalog (see 'ltsh check --help'); not cached
  --no-cache       compile FILE.lt even if compiled before, and keep nothing
                   (also LTSH_NO_CACHE=1). Live eBPF runs keep the programs
                   they generate in $XDG_CACHE_HOME/ltsh/compiled (default
                   ~/.cache/ltsh/compiled, 64 files kept), keyed by the file,
                   ltsh's sources and the kernel, so a repeat run starts
                   without compiling
  --metrics [HOST]:PORT
                   serve GET /metrics (Prometheus text format) while running:
                   :9464 on every interface, 127.0.0.1:9464 on one
  -h, --help       show this help

Exit status: 0 done, 1 error in FILE.lt or the trace, or the backend failed,
2 bad usage.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      ...BACKEND_FLAGS,
      for: { type: "string" },
      json: { type: "boolean" },
      catalog: { type: "string" },
      "no-cache": { type: "boolean" },
      ...METRICS_FLAG,
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("expected one FILE.lt");
    const { backend, replay } = chooseBackend(values);
    const forMs = values.for === undefined ? null : parseDurationArg(values.for, "--for");
    const metricsAt = metricsAddress(values.metrics);

    const cache = values["no-cache"] !== true && !process.env.LTSH_NO_CACHE;
    const plan = await prepareRun(positionals[0], backend, { catalog: values.catalog, cache });
    if (!plan) return 1;

    const printing = new Set(plan.trackers.filter(printsHits).map((t) => t.name));
    const json = values.json === true;
    const sessionOptions: SessionOptions = {
      options: plan.options,
      listener: {
        hit(hit: HitRecord) {
          if (json) output.write(`${hitToJson(hit)}\n`);
          // A snapshot's path is news even for a tracker that does not `print`.
          else if (printing.has(hit.tracker) || hit.snapshot) {
            output.write(`${formatHitLine(hit)}\n`);
          }
        },
        warning(message: string) {
          process.stderr.write(`ltsh: warning: ${message}\n`);
        },
        notice(message: string) {
          process.stderr.write(`ltsh: ${message}\n`);
        },
      },
      replay,
    };
    let session: Session;
    let metrics: MetricsServer | null = null;
    try {
      if (metricsAt) {
        // node:http (~3 MB) only for a run that serves metrics
        const { startMetricsServer } = await import("../metrics/server.ts");
        metrics = await startMetricsServer(metricsAt, VERSION);
      }
      session = await openSession(backend, sessionOptions);
    } catch (error) {
      await metrics?.close();
      process.stderr.write(`ltsh run: error: ${(error as Error).message}\n`);
      return 1;
    }
    if (metrics) process.stderr.write(`ltsh: serving metrics at ${metrics.url}\n`);
    metrics?.setSource(() => session.stats().map((s) => s.summary));
    // Scrapes stop before the session closes (as in serve): none reads a closed session.
    return await runSession(session, plan, forMs, json, async () => metrics?.close());
  },
};

/**
 * Writes all of `text` to stdout synchronously. process.stdout on a pipe queues what the
 * reader has not taken yet, without limit; a blocking write instead holds the replay back
 * to the reader's pace (`ltsh run --json | jq`), so memory stays bounded.
 */
function writeStdout(text: string): void {
  let bytes = encoded(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(1, bytes));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // `| head`: the reader is gone; end quietly (exit handlers still clean up).
      if (code === "EPIPE") process.exit(0);
      if (code !== "EAGAIN") throw error;
      Atomics.wait(PAUSE, 0, 0, 1); // a non-blocking pipe is full: wait 1 ms for the reader
    }
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** What a flush encodes into (at most 3 UTF-8 bytes per UTF-16 unit): one buffer, reused. */
const SCRATCH_BYTES = 1 << 18;
let scratch: Buffer | null = null;

/** The text as UTF-8: in the scratch buffer when it fits for sure (a flush does), else new. */
function encoded(text: string): Buffer {
  if (text.length * 3 > SCRATCH_BYTES) return Buffer.from(text);
  scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratch.subarray(0, scratch.write(text));
}

/**
 * stdout, batched: replay finds thousands of hits per chunk of trace, and one write(2)
 * each would cost more than finding them. Flushed on the next turn of the event loop,
 * so live hits still appear at once.
 */
const output = {
  pending: [] as string[],
  size: 0,
  scheduled: false,
  write(text: string) {
    this.pending.push(text);
    this.size += text.length;
    if (this.size > 1 << 16) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  },
  flush() {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    writeStdout(this.pending.join(""));
    this.pending = [];
    this.size = 0;
  },
};

function printsHits(tracker: TrackerPlan): boolean {
  return hasAction(tracker, "print");
}

/** Ctrl-C, kill and a closed terminal: each ends a run the same way. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Loads the trackers, waits for the end (trace end, --for, Ctrl-C), stops what reads the
 * session (`beforeClose`: the metrics server), closes it and prints the summaries.
 */
async function runSession(
  session: Session,
  plan: PreparedRun,
  forMs: number | null,
  json: boolean,
  beforeClose: () => Promise<void>,
) {
  let failure: Error | null = null;
  let timer: NodeJS.Timeout | undefined;
  let onSignal: (() => void) | undefined;
  try {
    // From the compiled cache they go straight to the kernel; compiled now, they are kept.
    let artifacts = plan.artifacts;
    if (artifacts === null) {
      const compiled: Artifact[] = [];
      for (const tracker of plan.trackers) compiled.push(await session.compile(tracker));
      await plan.keep(compiled);
      artifacts = compiled;
    }
    await startAll(session, artifacts);
    const waits: Promise<unknown>[] = [new Promise<void>((resolve) => (onSignal = resolve))];
    // Ctrl-C, kill and a closed terminal all end the run the same way: detach, drain, print
    // the summaries. A second signal finds only the cleanup handlers and exits at once.
    for (const signal of STOP_SIGNALS) process.once(signal, onSignal!);
    if (forMs !== null) waits.push(new Promise((resolve) => (timer = setTimeout(resolve, forMs))));
    if (session.done) waits.push(session.done());
    await Promise.race(waits);
  } catch (error) {
    failure = error as Error;
  } finally {
    clearTimeout(timer);
    if (onSignal) for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
  }
  let summaries: SummaryRecord[] = [];
  try {
    await beforeClose();
    summaries = await session.close();
  } catch (error) {
    failure ??= error as Error;
  }
  output.flush();
  if (failure) {
    process.stderr.write(`ltsh run: error: ${failure.message}\n`);
    return 1;
  }
  const text = json
    ? summaries.map((s) => `${summaryToJson(s)}\n`).join("")
    : `${summaries.map(formatSummary).join("\n\n")}\n`;
  writeStdout(json || summaries.length === 0 ? text : `\n${text}`);
  return 0;
}
