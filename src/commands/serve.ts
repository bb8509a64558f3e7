// `ltsh serve FILE.lt...`: the headless daemon of a fleet host. Runs every tracker of the
// files, serves /metrics, appends hits to an NDJSON file rotated by size, logs for journald
// on stderr; SIGHUP reloads the files, SIGTERM/SIGINT detach, drain and exit.

import type { ListenAddress } from "../metrics/address.ts";
import { Fleet, type FleetOptions } from "../metrics/fleet.ts";
import { HitsFile, parseSize } from "../metrics/hits-file.ts";
import { HitLogLimiter, Journal } from "../metrics/journal.ts";
import { type MetricsServer, startMetricsServer } from "../metrics/server.ts";
import { formatHitLine, hitToJson } from "../records/output.ts";
import { BACKEND_FLAGS, chooseBackend, METRICS_FLAG, metricsAddress } from "./backend-flags.ts";
import { type Command, parseCommandArgs, UsageError, VERSION } from "./usage.ts";

const DEFAULT_METRICS = ":9464";
const DEFAULT_MAX_SIZE = "64MiB";
const DEFAULT_KEEP = 5;

export const serveCommand: Command = {
  name: "serve",
  help: `Usage: ltsh serve FILE.lt... [--metrics [HOST]:PORT] [--hits FILE.ndjson
                   [--hits-max-size SIZE] [--hits-keep N]] [--target ebpf|kmod]
                   [--replay TRACE ...] [--catalog FILE]

The headless daemon for a host of a fleet: runs every tracker of the files,
serves their metrics for Prometheus and keeps their hits, with no terminal UI.
One line per event worth logging goes to stderr, each with a <N> syslog
priority prefix that journald reads (no colours, no timestamps).

Signals: SIGHUP reopens the hits file and reloads the .lt files (unchanged
trackers keep their counters, changed ones restart, a file with errors keeps
its old trackers and its diagnostics are logged); SIGTERM or SIGINT detach
everything, drain the last hits and exit 0.

Options:
  --metrics [HOST]:PORT  serve GET /metrics (Prometheus text format) here
                   (default ${DEFAULT_METRICS}: every interface)
  --hits FILE      append each hit to FILE as one NDJSON line (without it, the
                   hit lines 'ltsh run' would print are logged, at most 20 a
                   second)
  --hits-max-size SIZE
                   rotate FILE before it grows past SIZE (default ${DEFAULT_MAX_SIZE}):
                   FILE becomes FILE.1, FILE.1 becomes FILE.2, ...
  --hits-keep N    rotated files kept (default ${DEFAULT_KEEP})
  --target T       live backend: ebpf (default) or kmod
  --replay TRACE   replay a recorded trace instead (with --format, --speed,
                   --strict as for 'ltsh run'); the counters stay served after
                   the trace ends
  --catalog FILE   tracepoint catalog (see 'ltsh check --help')
  -h, --help       show this help

Exit status: 0 stopped by a signal, 1 an error in a file at start, a port in
use or a backend failure, 2 bad usage.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      ...BACKEND_FLAGS,
      ...METRICS_FLAG,
      hits: { type: "string" },
      "hits-max-size": { type: "string" },
      "hits-keep": { type: "string" },
      catalog: { type: "string" },
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError("expected one or more FILE.lt");
    const { backend, replay } = chooseBackend(values);
    const address = metricsAddress(values.metrics ?? DEFAULT_METRICS)!;
    const rotation = hitsRotation(values);
    const journal = new Journal();

    const { loadCatalogOrReport } = await import("./check.ts");
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const outputs = await openOutputs(address, values.hits, rotation, journal);
    if (!outputs) return 1;
    const fleet = new Fleet(positionals, {
      backend,
      replay,
      catalog,
      journal,
      hit: hitSink(outputs.hits, journal),
    });
    return daemon(fleet, outputs, journal);
  },
};

interface Outputs {
  metrics: MetricsServer;
  hits: HitsFile | null;
}

/** The /metrics endpoint and the hits file; null (said in the log) when either fails. */
async function openOutputs(
  address: ListenAddress,
  hitsPath: string | undefined,
  rotation: { maxBytes: number; keep: number },
  journal: Journal,
): Promise<Outputs | null> {
  let metrics: MetricsServer | null = null;
  try {
    metrics = await startMetricsServer(address, VERSION);
    if (hitsPath === undefined) return { metrics, hits: null };
    const onError = (error: Error, lost: number) =>
      journal.error(`error: writing ${hitsPath}: ${error.message} (${lost} hits lost)`);
    return { metrics, hits: new HitsFile(hitsPath, { ...rotation, onError }) };
  } catch (error) {
    await metrics?.close();
    journal.error(`error: ${(error as Error).message}`);
    return null;
  }
}

/** Starts the trackers, serves until SIGTERM/SIGINT (reloading on SIGHUP), then cleans up. */
async function daemon(fleet: Fleet, { metrics, hits }: Outputs, journal: Journal) {
  const stop = async (code: number): Promise<number> => {
    let status = code;
    await metrics.close(); // no scrape while the sessions close
    try {
      await fleet.close();
    } catch (error) {
      journal.error(`error: ${(error as Error).message}`);
      status = 1;
    }
    hits?.close();
    return status;
  };
  try {
    if (!(await fleet.start())) return stop(1);
  } catch (error) {
    journal.error(`error: ${(error as Error).message}`);
    return stop(1);
  }
  metrics.setSource(() => fleet.summaries());
  journal.info(`serving metrics at ${metrics.url}`);
  if (hits) journal.info(`appending hits to ${hits.path}`);
  await untilStopped(() => {
    reopenHits(hits, journal);
    return fleet.reload();
  });
  journal.info("stopping");
  return stop(0);
}

interface HitsFlags {
  "hits-max-size"?: string;
  "hits-keep"?: string;
  hits?: string;
}

function hitsRotation(flags: HitsFlags) {
  if (flags.hits === undefined && (flags["hits-max-size"] || flags["hits-keep"])) {
    throw new UsageError("--hits-max-size and --hits-keep apply to --hits only");
  }
  const maxBytes = parseSize(flags["hits-max-size"] ?? DEFAULT_MAX_SIZE);
  if (maxBytes === null) {
    throw new UsageError(
      `--hits-max-size expects a size such as 64MiB or 500k, not '${flags["hits-max-size"]}'`,
    );
  }
  const keepText = flags["hits-keep"] ?? String(DEFAULT_KEEP);
  if (!/^\d+$/.test(keepText))
    throw new UsageError(`--hits-keep expects a count, not '${keepText}'`);
  return { maxBytes, keep: Number(keepText) };
}

/** SIGHUP also reopens the hits file (moved away by logrotate, say); a failure is logged. */
function reopenHits(hits: HitsFile | null, journal: Journal): void {
  try {
    hits?.reopen();
  } catch (error) {
    journal.error(`error: reopening ${hits!.path}: ${(error as Error).message}`);
  }
}

/**
 * Hits go to the NDJSON file, every one (as `ltsh run --json` prints them); without a file,
 * to the log, rate-limited: those of trackers that `print`, and any with a snapshot (as
 * `ltsh run` prints them).
 */
function hitSink(hits: HitsFile | null, journal: Journal): FleetOptions["hit"] {
  if (hits !== null) return (hit) => hits.append(hitToJson(hit));
  const limiter = new HitLogLimiter(journal);
  setInterval(() => limiter.flush(), 1000).unref();
  return (hit, tracker) => {
    const prints = tracker?.actions.some((a) => a.kind === "print") ?? true;
    if (prints || hit.snapshot) limiter.log(formatHitLine(hit));
  };
}

/**
 * Resolves on SIGTERM or SIGINT; SIGHUP calls `reload` meanwhile. A SIGHUP while stopping
 * is ignored (its default action would end the process before the cleanup).
 */
function untilStopped(reload: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onHangup = () => {
      if (!stopping) void reload();
    };
    const onStop = () => {
      stopping = true;
      process.removeListener("SIGTERM", onStop);
      process.removeListener("SIGINT", onStop);
      resolve();
    };
    process.on("SIGHUP", onHangup);
    process.once("SIGTERM", onStop);
    process.once("SIGINT", onStop);
  });
}
