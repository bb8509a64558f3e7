// Close callbacks run once when the process ends: normal exit, SIGINT, SIGTERM or an uncaught
// exception. Kernel objects are fd-owned and vanish with the process anyway; this is for
// orderly detaching, tracefs instances and temporary files.

import { readFileSync } from "node:fs";

type Cleanup = () => void;

const callbacks = new Set<Cleanup>();
let installed = false;
let running = false;

/** Registers fn to run at exit; returns a function that unregisters it (call after closing). */
export function onCleanup(fn: Cleanup): () => void {
  install();
  callbacks.add(fn);
  return () => {
    callbacks.delete(fn);
  };
}

/** Runs every registered callback once, newest first; errors are reported, not thrown. */
export function runCleanup(): void {
  if (running) return;
  running = true;
  try {
    for (const fn of [...callbacks].reverse()) {
      callbacks.delete(fn);
      try {
        fn();
      } catch (e) {
        process.stderr.write(`ltsh: cleanup failed: ${(e as Error).message}\n`);
      }
    }
  } finally {
    running = false;
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runCleanup);
  // Observes without changing Node's default crash report and exit code.
  process.on("uncaughtExceptionMonitor", runCleanup);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    process.on(signal, () => {
      // A session that handles the signal itself (Ctrl-C prints the summary) closes its
      // own objects; exit here only when nobody else listens, as Node would by default.
      if (process.listenerCount(signal) > 1) return;
      runCleanup();
      process.exit(code);
    });
  }
}

/**
 * Whether process `pid` still runs (EPERM: it does, as another user's): the owner test for
 * what a process leaves behind under its pid (tracefs instances, temporary files). A zombie
 * does not: killed, it holds nothing but its pid until its parent waits for it, and a
 * start right after a kill -9 would otherwise keep what it left.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
  try {
    // /proc/PID/stat: "pid (comm) S ...", the comm in parentheses may hold spaces
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true;
  }
}
