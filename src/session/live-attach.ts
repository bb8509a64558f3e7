// Where a tracker's program runs: a tracepoint by its tracefs id, or a user-space probe's
// site through the uprobe PMU (system-wide, its USDT semaphore raised while attached).

import { PROG_TYPE_KPROBE, PROG_TYPE_TRACEPOINT } from "../compiler/bpf/helpers.ts";
import type { BpfProgram } from "../compiler/bpf/object.ts";
import { type Attachment, attachTracepoint } from "../kernel/perf.ts";
import { attachUprobe } from "../kernel/uprobe.ts";

/** BPF_PROG_TYPE_KPROBE for uprobes and uretprobes (context: struct pt_regs), else TRACEPOINT. */
export function programType(p: BpfProgram): number {
  return p.probe.user === undefined ? PROG_TYPE_TRACEPOINT : PROG_TYPE_KPROBE;
}

export function attachProgram(progFd: number, p: BpfProgram): Attachment {
  const user = p.probe.user;
  if (user === undefined) return attachTracepoint(progFd, p.probe.eventId);
  const site = user.sites[p.site ?? 0];
  return attachUprobe(progFd, {
    path: user.path,
    fileOffset: site.fileOffset,
    retprobe: user.kind === "uretprobe",
    refCtrOffset: site.refCtrOffset,
  });
}
