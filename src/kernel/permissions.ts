// Can this process trace live? Checks, in the order a user would fix them: privileges
// (root or CAP_BPF+CAP_PERFMON), sysctls, tracefs, then a real bpf(2) call.

import { existsSync, readFileSync } from "node:fs";
import { BpfMapType, closeFd, createMap } from "./bpf.ts";
import { ENOSYS, KernelError } from "./errors.ts";
import { errnoName } from "./libc.ts";

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const REPLAY = "(or record a trace and use --replay)";

export type PermissionCheck = { ok: true } | { ok: false; message: string };

let cached: PermissionCheck | null = null;

/** One line saying what is missing for live tracing and how to fix it. Cached per process. */
export function checkLivePermissions(): PermissionCheck {
  cached ??= check();
  return cached;
}

function check(): PermissionCheck {
  if (process.platform !== "linux" || process.arch !== "x64") {
    return fail(`live tracing needs x86_64 Linux (this is ${process.platform}/${process.arch})`);
  }
  // Capabilities, not the uid, decide: root in a container may have neither. Tracepoint
  // programs need CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) whatever the sysctls say:
  // kernel.unprivileged_bpf_disabled and kernel.perf_event_paranoid only open unprivileged
  // program types and perf events, never these, so they cannot be the fix.
  const caps = effectiveCaps();
  const has = (cap: bigint) => (caps >> cap) & 1n;
  const admin = has(CAP_SYS_ADMIN) === 1n;
  if (!admin && (has(CAP_BPF) === 0n || has(CAP_PERFMON) === 0n)) {
    const missing = [has(CAP_BPF) ? "" : "CAP_BPF", has(CAP_PERFMON) ? "" : "CAP_PERFMON"];
    return fail(
      `live tracing needs root or ${missing.filter(Boolean).join(" and ")}: ` +
        `run with sudo, or grant them (setcap cap_bpf,cap_perfmon+ep "$(command -v node)")`,
    );
  }
  const tracefs = findTracefs();
  if (tracefs === null) {
    const mounted = mountedTracefs();
    if (mounted !== null) {
      // Mounted, but its events are not visible: tracefs is root's alone (mode 0700).
      return fail(
        `tracefs at ${mounted} is readable by root only: run as root (sudo), or as uid 0 with ` +
          "only CAP_BPF and CAP_PERFMON (see deploy/ltsh.service)",
      );
    }
    return fail("tracefs is not mounted: run `sudo mount -t tracefs nodev /sys/kernel/tracing`");
  }
  return probeBpf();
}

function fail(message: string): PermissionCheck {
  return { ok: false, message: `${message} ${REPLAY}` };
}

/** CapEff from /proc/self/status as a bit set. */
function effectiveCaps(): bigint {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
    return hex === undefined ? 0n : BigInt(`0x${hex}`);
  } catch {
    return 0n;
  }
}

/** True inside a user namespace: uid 0 there is not uid 0 of the host. */
function inUserNamespace(): boolean {
  try {
    const map = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/);
    return !(map[0] === "0" && map[1] === "0" && map[2] === "4294967295");
  } catch {
    return false;
  }
}

export function findTracefs(): string | null {
  for (const root of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    if (existsSync(`${root}/events`)) return root;
  }
  return null;
}

/** Where /proc/mounts says tracefs is mounted, readable or not; null when nowhere. */
function mountedTracefs(): string | null {
  try {
    const line = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[2] === "tracefs");
    return line?.split(" ")[1] ?? null;
  } catch {
    return null;
  }
}

/** The decisive check: create (and close) a one-entry map. */
function probeBpf(): PermissionCheck {
  try {
    closeFd(
      createMap({
        name: "ltsh_probe",
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: 4,
        maxEntries: 1,
      }),
    );
    return { ok: true };
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    if (e.errno === ENOSYS) return fail("this kernel has no bpf(2) syscall (CONFIG_BPF_SYSCALL)");
    // The capabilities were checked above, so something outside them said no.
    if (inUserNamespace()) {
      return fail(
        "bpf(2) was refused: this process runs in a user namespace, whose capabilities do " +
          "not count for bpf(2); run ltsh in the initial namespace (on the host, or a " +
          "privileged container)",
      );
    }
    return fail(
      `bpf(2) was refused (${errnoName(e.errno)}) although this process has the capabilities: ` +
        "a seccomp filter, a container runtime or a security module blocks it; run ltsh on " +
        "the host or in a container allowed to use bpf (e.g. --privileged)",
    );
  }
}
