// The machine side of the kmod backend: whether this host can load modules, the build
// (make against the running kernel's headers, killed with ltsh), insmod, the "stop" write
// and rmmod, and the cache of built modules, keyed by sources and headers, so running the
// same tracker again (a minute of building on a slow machine) inserts at once.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, homedir, release, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { processAlive } from "../kernel/cleanup.ts";
import { KernelSymbols } from "../kernel/kallsyms.ts";
import { pruneCache } from "./disk-cache.ts";

/** Seconds on real hardware, minutes on an emulated or loaded machine; only a hang ends here. */
const BUILD_TIMEOUT_MS = 900_000;
/** Built modules kept per kernel release; the least recently used are removed. */
const CACHE_ENTRIES = 32;

/** Why this host cannot run kmod trackers, or null when it can. */
export function kmodUnavailableReason(kernelRelease = release()): string | null {
  if (!existsSync("/proc/modules")) {
    return `the running kernel (${kernelRelease}) cannot load modules (no /proc/modules); use the live eBPF backend, or see the module run in a VM with npm run test:vm`;
  }
  if (!existsSync(`/lib/modules/${kernelRelease}/build/Makefile`)) {
    return `no kernel headers for ${kernelRelease} (/lib/modules/${kernelRelease}/build); install them (Debian: apt-get install linux-headers-${kernelRelease})`;
  }
  if (process.geteuid?.() !== 0) return "loading kernel modules needs root";
  if (spawnSync("sh", ["-c", "command -v insmod && command -v rmmod"]).status !== 0) {
    return "insmod/rmmod not found (Debian: apt-get install kmod)";
  }
  return null;
}

function run(command: string, args: string[], timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (c) => {
      log += c;
    });
    child.stderr.on("data", (c) => {
      log += c;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    // An ltsh that exits (Ctrl-C, SIGTERM) mid-build takes its build with it.
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild);
    child.on("error", (e) => resolve(e.message));
    child.on("close", (code) => {
      clearTimeout(timer);
      process.removeListener("exit", killChild);
      const tail = log.trim().split("\n").slice(-5).join("\n");
      if (timedOut)
        resolve(`${tail}\n${command} did not finish in ${timeoutMs / 1000} s; killed`.trim());
      else resolve(code === 0 ? null : tail || `exit ${code}`);
    });
  });
}

/** What the session asks of the machine; replaced in tests (no host here loads modules). */
export interface KmodHost {
  /** Builds DIR's module; null on success, else the end of the build log. */
  build(dir: string): Promise<string | null>;
  /**
   * Synchronous, so that no signal is handled between a successful insmod and the exit
   * handler that removes the module (Node runs signal handlers between callbacks only).
   */
  insert(ko: string): string | null;
  /** The module is in the kernel already (another session's, or one whose ltsh was killed). */
  isLoaded(name: string): boolean;
  /**
   * Ends tracking (the module's "stop" parameter: probes removed, sweeps stopped), so that
   * the hits read next and the counters read after them match. Synchronous, like remove().
   */
  stop(name: string): string | null;
  /** Synchronous: it also runs from the exit handler. */
  remove(name: string): string | null;
  devicePath(name: string): string;
  statsPath(name: string): string;
  /** The kernel's symbols, modules' included (/proc/kallsyms), for hits' stacks. */
  kernelSymbols(): KernelSymbols;
  /** Where built modules are kept, and what identifies the headers; null: always build. */
  cache: { dir: string; headers: string } | null;
}

/** Seconds since boot, as the kernel log stamps its lines. */
function uptimeSeconds(): number {
  try {
    return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}

/**
 * What module `name` logged since `since` (seconds since boot) in `dmesg`'s output
 * ("lt_x: cannot find /usr/bin/app: -2"): why its init failed, which insmod's own message
 * ("No such file or directory") does not say.
 */
export function moduleLog(dmesg: string, name: string, since: number): string[] {
  return dmesg.split("\n").flatMap((line) => {
    const stamped = /^\[\s*([\d.]+)\]\s*(.*)$/.exec(line);
    const recent = stamped !== null && Number(stamped[1]) >= since - 0.01;
    return recent && stamped[2].startsWith(`${name}: `) ? [stamped[2]] : [];
  });
}

function kernelLog(): string {
  return spawnSync("dmesg", [], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
}

/** Identity of a headers tree: a rebuilt or reinstalled one gets new mtimes. */
function headersIdentity(headers: string): string {
  return [".config", "Module.symvers", "Makefile"]
    .map((f) => {
      try {
        const st = statSync(join(headers, f));
        return `${f}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:-`;
      }
    })
    .join(" ");
}

export function systemHost(kernelRelease = release()): KmodHost {
  const headers = `/lib/modules/${kernelRelease}/build`;
  return {
    build: (dir) =>
      run(
        "make",
        [`-j${availableParallelism()}`, "-C", headers, `M=${dir}`, "modules"],
        BUILD_TIMEOUT_MS,
      ),
    insert(ko) {
      const since = uptimeSeconds();
      const inserted = spawnSync("insmod", [ko], { encoding: "utf8", timeout: 60_000 });
      if (inserted.status === 0) return null;
      const why = inserted.stderr?.trim() || inserted.error?.message || `exit ${inserted.status}`;
      return [why, ...moduleLog(kernelLog(), basename(ko, ".ko"), since)].join("\n");
    },
    isLoaded: (name) => existsSync(`/sys/module/${name}`),
    stop(name) {
      try {
        writeFileSync(`/sys/module/${name}/parameters/stop`, "1");
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
    remove(name) {
      const removed = spawnSync("rmmod", [name], { encoding: "utf8", timeout: 30_000 });
      if (removed.status === 0 || !existsSync(`/sys/module/${name}`)) return null;
      return removed.stderr.trim() || `exit ${removed.status}`;
    },
    devicePath: (name) => `/dev/ltsh_${name}`,
    statsPath: (name) => `/proc/ltsh_${name}/stats`,
    kernelSymbols: () => KernelSymbols.load(),
    cache: {
      dir: join(
        process.env.XDG_CACHE_HOME || join(homedir(), ".cache"),
        "ltsh",
        "kmod",
        kernelRelease,
      ),
      headers: headersIdentity(headers),
    },
  };
}

/** The cached module built from exactly these sources against these headers. */
export function cachePath(
  cache: NonNullable<KmodHost["cache"]>,
  name: string,
  files: string[],
): string {
  const hash = createHash("sha256").update(cache.headers);
  for (const file of [...files].sort()) {
    hash.update(`\0${basename(file)}\0`).update(readFileSync(file));
  }
  // One directory per build: the file keeps the module's name, as insmod users expect.
  return join(cache.dir, hash.digest("hex").slice(0, 20), `${name}.ko`);
}

/** Keeps a built module (best effort: a read-only or full cache only costs rebuilds). */
export function storeInCache(ko: string, cached: string): void {
  const entry = dirname(cached);
  const temporary = `${entry}.${process.pid}.tmp`;
  try {
    mkdirSync(temporary, { recursive: true });
    copyFileSync(ko, join(temporary, basename(cached)));
    // Atomic: a session racing to store the same build finds it whole or not at all.
    renameSync(temporary, entry);
    pruneCache(dirname(entry), CACHE_ENTRIES, (name) => !name.endsWith(".tmp"));
  } catch {
    // Not cached (or cached by a racing session); the next run looks again.
  }
  rmSync(temporary, { recursive: true, force: true });
}

/** Build directories left by sessions whose process died (`ltsh-<pid>-kmod-*`). */
export function removeStaleBuildDirs(dir = tmpdir()): void {
  for (const name of readdirSync(dir)) {
    const owner = /^ltsh-(\d+)-kmod-/.exec(name);
    if (owner && !processAlive(Number(owner[1])))
      rmSync(join(dir, name), { recursive: true, force: true });
  }
}
