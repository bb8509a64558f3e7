// tracefs instances of our own (`instances/ltsh-<pid>-<purpose>`): find or mount tracefs,
// create an instance with the mono clock, a sized buffer and chosen options, enable events,
// read its `trace`, freeze and resume it, and remove it on close, exit or Ctrl-C.
//
// Usage (ltsh record, the snapshot flight recorder):
//   const inst = TracefsInstance.create({ purpose: "record", bufferKiB: 16384, overwrite: false });
//   inst.enableEvents(["sched:sched_switch"]); inst.resume(); ...; inst.freeze();
//   createReadStream(inst.tracePath); ...; inst.remove();
// Every call is synchronous so that remove() also works from exit handlers.

import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { onCleanup, processAlive } from "./cleanup.ts";

/** A tracefs problem, with the fix in the message: print it as one line. */
export class TracefsError extends Error {}

export const TRACEFS_MOUNTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/**
 * The tracefs mount point. When none is mounted and we are root, mounts it at
 * /sys/kernel/tracing; otherwise throws a TracefsError naming the fix.
 */
export function findTracefs(options: { mount?: boolean } = {}): string {
  for (const root of TRACEFS_MOUNTS) if (existsSync(join(root, "instances"))) return root;
  const root = TRACEFS_MOUNTS[0];
  if (options.mount !== false && process.getuid?.() === 0) {
    try {
      execFileSync("mount", ["-t", "tracefs", "nodev", root], { stdio: "ignore" });
      if (existsSync(join(root, "instances"))) return root;
    } catch {
      // Fall through to the message with the command to run.
    }
  }
  const needRoot = process.getuid?.() === 0 ? "" : " as root";
  const mounted = readMounts().some((m) => m.type === "tracefs");
  if (mounted && process.getuid?.() !== 0) {
    // Mounted, but tracefs is root-only (mode 0700) by default.
    throw new TracefsError(
      "tracefs is readable by root only: run ltsh with sudo (or record the trace as root and use --replay)",
    );
  }
  throw new TracefsError(`tracefs is not mounted: run 'mount -t tracefs nodev ${root}'${needRoot}`);
}

function readMounts(): { path: string; type: string }[] {
  try {
    return readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" "))
      .filter((fields) => fields.length > 2)
      .map(([, path, type]) => ({ path, type }));
  } catch {
    return [];
  }
}

function writeFile(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    const hint = code === "EACCES" || code === "EPERM" ? " (run as root)" : "";
    throw new TracefsError(`tracefs: cannot write '${value.trim()}' to ${path}: ${code}${hint}`);
  }
}

/** Removes `ltsh-<pid>-*` instances whose process is gone (a crash or kill -9 left them). */
export function removeStaleInstances(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, "instances"));
  } catch {
    return [];
  }
  return names.filter((name) => {
    const pid = Number(/^ltsh-(\d+)-/.exec(name)?.[1] ?? Number.NaN);
    if (Number.isNaN(pid) || pid === process.pid || processAlive(pid)) return false;
    return removeDir(join(root, "instances", name));
  });
}

function removeDir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

export interface InstanceOptions {
  /** Part of the name: `ltsh-<pid>-<purpose>`. */
  purpose: string;
  /** trace_clock; default "mono", the clock of bpf_ktime_get_ns. */
  clock?: string;
  /** Ring buffer size per CPU in KiB; default: the kernel's. */
  bufferKiB?: number;
  /** true: a flight recorder (old events overwritten); false: keep the oldest, drop new ones. */
  overwrite?: boolean;
  /**
   * Trace options written at creation. Defaults: record-tgid on (pid in every line),
   * hash-ptr off (pointers printed as-is, so %p and %px fields of one skb match; on
   * kernels from 6.4, see create()).
   */
  options?: Record<string, boolean>;
  tracefs?: string;
}

const DEFAULT_OPTIONS: Record<string, boolean> = { "record-tgid": true, "hash-ptr": false };

/** Per-CPU buffer counters, summed over CPUs. */
export interface BufferStats {
  entries: number;
  /** Events overwritten (overwrite mode) — gone from the buffer. */
  overrun: number;
  /** Events refused because the buffer was full (no-overwrite mode). */
  dropped: number;
}

export class TracefsInstance {
  private unregister: (() => void) | null;

  private constructor(
    readonly root: string,
    readonly name: string,
    readonly dir: string,
  ) {
    this.unregister = onCleanup(() => this.remove());
  }

  /** Creates the instance, stopped (tracing_on = 0); call resume() to start recording. */
  static create(options: InstanceOptions): TracefsInstance {
    const root = options.tracefs ?? findTracefs();
    removeStaleInstances(root);
    let created: TracefsInstance | null = null;
    for (let n = 1; created === null; n++) {
      const name = `ltsh-${process.pid}-${n === 1 ? options.purpose : `${options.purpose}${n}`}`;
      const dir = join(root, "instances", name);
      try {
        mkdirSync(dir);
        created = new TracefsInstance(root, name, dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EEXIST" || n >= 50) {
          const hint = code === "EACCES" || code === "EPERM" ? " (run as root)" : "";
          throw new TracefsError(`tracefs: cannot create instance ${dir}: ${code}${hint}`);
        }
      }
    }
    try {
      created.freeze();
      created.write("trace_clock", options.clock ?? "mono");
      if (options.bufferKiB !== undefined)
        created.write("buffer_size_kb", String(options.bufferKiB));
      created.setOption("overwrite", options.overwrite ?? true);
      const chosen = { ...DEFAULT_OPTIONS, ...options.options };
      // Debian's 6.1 (6.1.192 RT, seen in test:vm's guest) prints the first string field of
      // an event empty with hash-ptr off (`sched_waking: comm= pid=15`): where tracefs
      // predates the `fields` option (Linux 6.4), pointers stay hashed (a replay keyed by
      // one then sees hashed values) rather than every comm lost.
      if (!created.hasOption("fields")) delete chosen["hash-ptr"];
      for (const [option, on] of Object.entries(chosen)) {
        // Options differ between kernels: a missing one is not worth failing for.
        if (created.hasOption(option)) created.setOption(option, on);
      }
      created.clear();
    } catch (error) {
      created.remove();
      throw error;
    }
    return created;
  }

  get tracePath(): string {
    return join(this.dir, "trace");
  }

  write(file: string, value: string): void {
    writeFile(join(this.dir, file), value);
  }

  /** Whether this kernel's tracefs has trace option `option` (they differ between kernels). */
  hasOption(option: string): boolean {
    return existsSync(join(this.dir, "options", option));
  }

  setOption(option: string, on: boolean): void {
    this.write(join("options", option), on ? "1" : "0");
  }

  /**
   * Resolves names to "category:name": "sched" (a whole category), "sched:sched_switch",
   * or a bare "sched_switch". Unknown names are returned apart.
   */
  resolveEvents(requested: readonly string[]): { events: string[]; unknown: string[] } {
    const available = readFileSync(join(this.root, "available_events"), "utf8")
      .split("\n")
      .filter(Boolean);
    const events: string[] = [];
    const unknown: string[] = [];
    for (const wanted of requested) {
      const matches = available.filter((id) => {
        const [category, name] = id.split(":");
        return id === wanted || name === wanted || (!wanted.includes(":") && category === wanted);
      });
      if (matches.length === 0) unknown.push(wanted);
      for (const id of matches) if (!events.includes(id)) events.push(id);
    }
    return { events, unknown };
  }

  /** Enables "category:name" events (resolve them first). */
  enableEvents(ids: readonly string[]): void {
    for (const id of ids) {
      const [category, name] = id.split(":");
      this.write(join("events", category, name, "enable"), "1");
    }
  }

  /** Sets a "category:name" event's filter, in the kernel's syntax (`ret == 2`). */
  setEventFilter(id: string, filter: string): void {
    const [category, name] = id.split(":");
    this.write(join("events", category, name, "filter"), filter);
  }

  clear(): void {
    this.write("trace", "");
  }

  /** Stops recording (tracing_on = 0): the buffer can be read without it moving. */
  freeze(): void {
    this.write("tracing_on", "0");
  }

  resume(): void {
    this.write("tracing_on", "1");
  }

  /** The whole `trace` file as text (small buffers only; stream tracePath for big ones). */
  readTrace(): string {
    return readFileSync(this.tracePath, "utf8");
  }

  bufferStats(): BufferStats {
    const stats: BufferStats = { entries: 0, overrun: 0, dropped: 0 };
    for (const cpu of this.bufferStatsByCpu().values()) {
      stats.entries += cpu.entries;
      stats.overrun += cpu.overrun;
      stats.dropped += cpu.dropped;
    }
    return stats;
  }

  /** Each CPU's buffer counters, by CPU number. */
  bufferStatsByCpu(): Map<number, BufferStats> {
    const byCpu = new Map<number, BufferStats>();
    const perCpu = join(this.dir, "per_cpu");
    for (const cpu of readdirSync(perCpu)) {
      const text = readFileSync(join(perCpu, cpu, "stats"), "utf8");
      const value = (label: string) =>
        Number(new RegExp(`^${label}: (\\d+)`, "m").exec(text)?.[1] ?? 0);
      byCpu.set(Number(cpu.replace(/^cpu/, "")), {
        entries: value("entries"),
        overrun: value("overrun"),
        dropped: value("dropped events"),
      });
    }
    return byCpu;
  }

  /** Disables everything and removes the instance; safe to call twice and from exit handlers. */
  remove(): void {
    if (this.unregister === null) return;
    this.unregister();
    this.unregister = null;
    try {
      writeFileSync(join(this.dir, "tracing_on"), "0");
      writeFileSync(join(this.dir, "events", "enable"), "0");
    } catch {
      // Removing is what matters; rmdir below says whether it worked.
    }
    if (!removeDir(this.dir)) {
      process.stderr.write(
        `ltsh: warning: could not remove tracefs instance ${this.dir}: remove it with rmdir\n`,
      );
    }
  }
}
