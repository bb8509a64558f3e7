// Attaching a loaded BPF program to a tracepoint (or, through attachPerfEvent, any perf event
// such as a uprobe): perf_event_open then PERF_EVENT_IOC_SET_BPF and ENABLE. Closing the
// perf fd detaches the program.

import { KernelError, permissionHint } from "./errors.ts";
import { closeOnWorker, closeRaw, NativeMemory, SYS, sys, sys5 } from "./libc.ts";

const PERF_TYPE_TRACEPOINT = 2;
/** sizeof(struct perf_event_attr) as of PERF_ATTR_SIZE_VER7; older fields stay zero. */
const PERF_ATTR_SIZE = 128;
const PERF_FLAG_FD_CLOEXEC = 8;
/** _IO('$', 0) */
const PERF_EVENT_IOC_ENABLE = 0x2400;
/** _IO('$', 1) */
const PERF_EVENT_IOC_DISABLE = 0x2401;
/** _IOW('$', 8, __u32) */
const PERF_EVENT_IOC_SET_BPF = 0x40042408;

export interface Attachment {
  /** Detaches the program (idempotent). Can block ~70 ms: see closeAsync. */
  close(): void;
  /**
   * Detaches on a worker thread. Removing the last program of a tracepoint waits for an RCU
   * grace period (tens of ms); closing many attachments together lets those waits overlap.
   */
  closeAsync(): Promise<void>;
}

/** Detaches every attachment concurrently (one grace period instead of one per probe). */
export async function detachAll(attachments: Attachment[]): Promise<void> {
  await Promise.all(attachments.map((a) => a.closeAsync()));
}

/**
 * Runs progFd on every CPU each time the tracepoint with tracefs id `eventId` fires (the
 * program hangs off the tracepoint itself, so one perf event on CPU 0 is enough).
 */
export function attachTracepoint(progFd: number, eventId: number): Attachment {
  return attachPerfEvent(progFd, `tracepoint id ${eventId}`, (attr) => {
    attr.setUint32(0, PERF_TYPE_TRACEPOINT, true);
    attr.setBigUint64(8, BigInt(eventId), true);
  });
}

/**
 * Opens a system-wide perf event (pid -1, CPU 0: the kernel refuses pid -1 with cpu -1; a
 * program attached to a tracepoint or probe event runs wherever it fires), attaches progFd
 * with PERF_EVENT_IOC_SET_BPF and enables it. `fill` writes the type and config fields of
 * struct perf_event_attr (the size is set here); `target` names it in errors.
 */
export function attachPerfEvent(
  progFd: number,
  target: string,
  fill: (attr: DataView) => void,
  hint: (errno: number) => string = perfHint,
): Attachment {
  const attr = NativeMemory.alloc(PERF_ATTR_SIZE);
  let pfd: number;
  try {
    fill(attr.view);
    attr.view.setUint32(4, PERF_ATTR_SIZE, true);
    // pid -1 and cpu 0: every task, one event; group_fd -1.
    pfd = sys5(SYS.perf_event_open, attr.ptr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  } finally {
    attr.free();
  }
  if (pfd < 0) throw new KernelError(`open perf event for ${target}`, -pfd, hint(-pfd));
  const fail = (what: string, r: number): never => {
    closeRaw(pfd);
    throw new KernelError(`${what} on ${target}`, -r, permissionHint(-r));
  };
  const setBpf = sys(SYS.ioctl, pfd, PERF_EVENT_IOC_SET_BPF, progFd);
  if (setBpf < 0) fail("attach BPF program", setBpf);
  const enable = sys(SYS.ioctl, pfd, PERF_EVENT_IOC_ENABLE, 0);
  if (enable < 0) fail("enable perf event", enable);
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      sys(SYS.ioctl, pfd, PERF_EVENT_IOC_DISABLE, 0);
      closeRaw(pfd);
    },
    async closeAsync() {
      if (!open) return;
      open = false;
      // Disabled at once, so no event runs the program after this returns.
      sys(SYS.ioctl, pfd, PERF_EVENT_IOC_DISABLE, 0);
      await closeOnWorker(pfd);
    },
  };
}

export function perfHint(errno: number): string {
  const perm = permissionHint(errno);
  if (perm !== "") return `${perm} (or lower /proc/sys/kernel/perf_event_paranoid)`;
  return errno === 2 ? "no such tracepoint id (see /sys/kernel/tracing/events/*/*/id)" : "";
}
