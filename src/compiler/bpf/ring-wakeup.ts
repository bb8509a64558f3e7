// When a hit record wakes the reader. bpf_ringbuf_submit() wakes it through an irq_work: a
// self-IPI. Raised where IRQs are on (a system call's program, a user-space probe's), the
// IPI interrupts the program at once, and the kernel skips every BPF program of that IRQ and
// of the reader's waking in it (one program at a time per CPU; the skips are counted, and
// the summary says them as `missed`): 2500 in 15 s on this host for test/vm/programs/chains.lt,
// whose chains_rpc ends on sys_enter_write. Those programs submit without a wakeup, and the
// session drains the ring on a timer instead.

import type { ProbePlan } from "../plan.ts";

/** bpf_ringbuf_submit's BPF_RB_NO_WAKEUP (include/uapi/linux/bpf.h). */
export const RB_NO_WAKEUP = 1;

/** How often a session drains a ring whose records may come without a wakeup. */
export const DEFERRED_DRAIN_MS = 50;

/** The ring buffer flags of a hit submitted by a program on `probe`. */
export function submitFlags(probe: ProbePlan): number {
  const irqsOn =
    probe.user !== undefined ||
    probe.id.startsWith("syscalls:") ||
    probe.id.startsWith("raw_syscalls:");
  return irqsOn ? RB_NO_WAKEUP : 0;
}
