// The registry of backends a Session can run on. `ltsh run` and the shell open sessions
// through openSession(); each backend adds one entry to `factories`. Backends are imported
// when opened, so a command pays only for the backend it uses (koffi, the BPF codegen, ...).

import { basename } from "node:path";
import type { BackendName } from "../compiler/checker-backend.ts";
import type { OptionValue } from "../compiler/plan.ts";
import type { Session, SessionListener } from "./types.ts";

export type { BackendName };

export interface SessionOptions {
  listener: SessionListener;
  /** Options from the file's `set` statements (snapshot.*, ...), defaults filled in. */
  options: Record<string, OptionValue>;
  /** Replay only: the trace to read ("-" for stdin), its format, and pacing. */
  replay?: {
    path: string;
    format?: "ftrace" | "perf" | "babeltrace";
    /** 1 = trace time, 10 = ten times faster, "max" = as fast as possible (default). */
    speed?: number | "max";
    strict?: boolean;
  };
}

export type SessionFactory = (options: SessionOptions) => Promise<Session>;

const factories: Partial<Record<BackendName, SessionFactory>> = {
  ebpf: async (options) => (await import("./live.ts")).openLiveSession(options),
  replay: async (options) => (await import("./replay.ts")).openReplaySession(options),
  kmod: async (options) => (await import("./kmod.ts")).openKmodSession(options),
};

/** How the shell's status line names a backend: "live eBPF", "kmod", "replay trace.txt". */
export function backendLabel(backend: BackendName, tracePath?: string): string {
  if (backend === "replay") return tracePath ? `replay ${basename(tracePath)}` : "replay";
  return backend === "kmod" ? "kmod" : "live eBPF";
}

/** What to tell a user whose session could not open, besides the error; null: nothing. */
export function openFailureHint(backend: BackendName): string | null {
  if (backend !== "ebpf") return null;
  return (
    "hint: the shell also runs on a recorded trace: ltsh --replay TRACE " +
    "(record one as root: ltsh record -o TRACE --for 10s --events sched)"
  );
}

/**
 * Whether the compiled cache keeps this backend's artifacts (generated programs, built
 * modules); replay's artifact is the plan itself, nothing to gain.
 */
export function keepsArtifacts(backend: BackendName): boolean {
  return backend !== "replay";
}

export async function openSession(backend: BackendName, options: SessionOptions): Promise<Session> {
  const factory = factories[backend];
  if (!factory) throw new Error(`the ${backend} backend is not available in this build`);
  return factory(options);
}
