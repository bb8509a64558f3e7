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

/**
 * Indexes of `programs` in the order to attach them so that, at one event, a tracker's end
 * runs before its begin (the codegen lists ends first). Tracepoint programs run in the order
 * attached; a uprobe's consumers run newest first (the kernel adds each at the head of the
 * probe's list), so user-space probe programs are attached in reverse. A chain's origin
 * comes last: while the programs are attached one by one, a chain started before the rules
 * that carry it would take another path than replay's (a raise kept past its softirq, a
 * waking not seen). Detach in the reverse order.
 */
export function attachOrder(programs: readonly BpfProgram[]): number[] {
  const indexes = programs.map((_, i) => i);
  const tracepoints = indexes.filter((i) => programs[i].probe.user === undefined);
  const user = indexes.filter((i) => programs[i].probe.user !== undefined).reverse();
  const ordered = [...tracepoints, ...user];
  return [
    ...ordered.filter((i) => !programs[i].origin),
    ...ordered.filter((i) => programs[i].origin),
  ];
}
