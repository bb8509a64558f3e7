// The flags that choose a backend, shared by `ltsh run` and the shell: --replay TRACE with
// --format/--speed/--strict, or --target ebpf|kmod for live tracing; and --metrics.

import { AddressError, type ListenAddress, parseListenAddress } from "../metrics/address.ts";
import type { BackendName, SessionOptions } from "../session/backends.ts";
import { UsageError } from "./usage.ts";

export const BACKEND_FLAGS = {
  replay: { type: "string" },
  format: { type: "string" },
  speed: { type: "string" },
  strict: { type: "boolean" },
  target: { type: "string" },
} as const;

const FORMATS = ["ftrace", "perf", "babeltrace"] as const;
type Format = (typeof FORMATS)[number];

export interface BackendFlags {
  replay?: string;
  format?: string;
  speed?: string;
  strict?: boolean;
  target?: string;
}

export interface BackendChoice {
  backend: BackendName;
  replay: SessionOptions["replay"];
}

/** Validates the flags (UsageError on a mistake) and names the backend they choose. */
export function chooseBackend(flags: BackendFlags): BackendChoice {
  if (flags.format !== undefined && !FORMATS.includes(flags.format as Format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  }
  if (flags.target !== undefined && flags.target !== "ebpf" && flags.target !== "kmod") {
    throw new UsageError("--target must be ebpf or kmod");
  }
  if (flags.replay !== undefined && flags.target !== undefined) {
    throw new UsageError("--target chooses a live backend; --replay replays a trace instead");
  }
  if (flags.replay === undefined) {
    if (flags.format || flags.speed || flags.strict) {
      throw new UsageError("--format, --speed and --strict apply to --replay only");
    }
    return { backend: flags.target === "kmod" ? "kmod" : "ebpf", replay: undefined };
  }
  const replay = {
    path: flags.replay,
    format: flags.format as Format | undefined,
    speed: parseSpeed(flags.speed),
    strict: flags.strict,
  };
  return { backend: "replay", replay };
}

function parseSpeed(text: string | undefined): number | "max" {
  if (text === undefined || text === "max") return "max";
  const speed = Number(text);
  if (!(speed > 0))
    throw new UsageError(`--speed expects a positive number or 'max', not '${text}'`);
  return speed;
}

/** `--metrics [HOST]:PORT`, shared by `ltsh run` and `ltsh serve`. */
export const METRICS_FLAG = { metrics: { type: "string" } } as const;

/** The address --metrics names (UsageError when malformed), null without the flag. */
export function metricsAddress(value: string | undefined): ListenAddress | null {
  if (value === undefined) return null;
  try {
    return parseListenAddress(value);
  } catch (error) {
    if (error instanceof AddressError) throw new UsageError(error.message);
    throw error;
  }
}
