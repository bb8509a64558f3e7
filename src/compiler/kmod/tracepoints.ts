// The one table the kmod target needs about the kernel: for each supported tracepoint, its
// TP_PROTO (what a probe receives), the headers that declare what the prototype and the
// expressions use, and a C expression over those arguments for each format field (what the
// .lt program names). Each entry says the kernels its prototype and expressions were
// checked on against include/trace/events/*.h.

import { VECTOR_CATEGORY, VECTOR_NAMES } from "../contexts.ts";

/** A kernel tracepoint a probe function is registered on. */
export interface KernelTracepoint {
  /** Name for tracepoint_probe_register() lookup: "sched_switch". */
  name: string;
  /** Prototype after `void *data`, exactly as TP_PROTO. */
  proto: string;
  /** What the probe function includes for the prototype's types and the field expressions. */
  headers: string[];
  /** Kernel releases whose headers this prototype was checked against. */
  checked: string[];
  /**
   * Later kernels append arguments: the module's Kbuild looks for `pattern` in the
   * headers' `header` and defines LT_HAVE_<flag>, choosing `proto` (the probe then
   * matches the tracepoint's type exactly, as kernels built with CFI require).
   */
  grown?: { flag: string; header: string; pattern: string; proto: string; since: string };
}

/** How the fields of one event read in C, in the probe function that sees it. */
export interface FieldMapping {
  /** The event's plan id ("sched:sched_wakeup", "usdt:/bin/app:ltsh:tick"). */
  id: string;
  /** Field name → C expression over the probe function's arguments. */
  fields: Record<string, string>;
  /** Only these calls of the probe function are this event (the syscall number). */
  condition?: string;
}

/** How one .lt event ("sched:sched_wakeup", "syscalls:sys_enter_write") reads in C. */
export interface EventMapping extends FieldMapping {
  tracepoint: KernelTracepoint;
}

/** Debian 12's headers (include/trace/events/*.h), and BTF (btf_trace_*) of 6.18.44. */
const CHECKED = ["6.1.0-56-amd64 (Debian 12 headers)", "6.18.44 (BTF)"];

const tp = (name: string, proto: string, headers: string[]): KernelTracepoint => ({
  name,
  proto,
  headers,
  checked: CHECKED,
});

const SCHED = ["linux/sched.h"];
/** syscall_get_arguments/_nr, __NR_*, in_compat_syscall(). */
const SYSCALL = ["asm/syscall.h", "linux/compat.h"];
/** disk_devt(), blk_rq_pos()/bytes(), blk_status_to_errno(); blk_rq_trace_*(). */
const BLOCK = ["linux/blkdev.h", "linux/blktrace_api.h"];
/** struct sk_buff, enum skb_drop_reason, ntohs(). */
const SKB = ["linux/skbuff.h"];
const IRQ = ["linux/interrupt.h"];
const TIMER = ["linux/hrtimer.h", "linux/timer.h", "linux/jiffies.h"];
const SOFTIRQ_EVENTS = ["softirq_entry", "softirq_exit", "softirq_raise"];

const SCHED_WAKEUP = tp("sched_wakeup", "struct task_struct *p", SCHED);
const SCHED_SWITCH = tp(
  "sched_switch",
  "bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state",
  SCHED,
);
const SYS_ENTER = tp("sys_enter", "struct pt_regs *regs, long id", SYSCALL);
const SYS_EXIT = tp("sys_exit", "struct pt_regs *regs, long ret", SYSCALL);

const BLOCK_DEV = "(rq->q->disk ? disk_devt(rq->q->disk) : 0)";

const FIXED: EventMapping[] = [
  {
    id: "sched:sched_wakeup",
    tracepoint: SCHED_WAKEUP,
    fields: { comm: "p->comm", pid: "p->pid", prio: "p->prio", target_cpu: "task_cpu(p)" },
  },
  {
    id: "sched:sched_switch",
    tracepoint: SCHED_SWITCH,
    fields: {
      prev_comm: "prev->comm",
      prev_pid: "prev->pid",
      prev_prio: "prev->prio",
      // lt_module.c: the state as the trace event shows it
      prev_state: "lt_switch_state(preempt, prev_state, prev)",
      next_comm: "next->comm",
      next_pid: "next->pid",
      next_prio: "next->prio",
    },
  },
  {
    id: "irq:irq_handler_entry",
    tracepoint: tp("irq_handler_entry", "int irq, struct irqaction *action", IRQ),
    // the event's __string(name, action->name) writes "(null)" for a NULL name
    fields: { irq: "irq", name: '(action->name ? action->name : "(null)")' },
  },
  {
    id: "irq:irq_handler_exit",
    tracepoint: tp("irq_handler_exit", "int irq, struct irqaction *action, int ret", IRQ),
    fields: { irq: "irq", ret: "ret" },
  },
  {
    id: "sched:sched_waking",
    tracepoint: tp("sched_waking", "struct task_struct *p", SCHED),
    fields: { comm: "p->comm", pid: "p->pid", prio: "p->prio", target_cpu: "task_cpu(p)" },
  },
  ...SOFTIRQ_EVENTS.map((name) => ({
    id: `irq:${name}`,
    tracepoint: tp(name, "unsigned int vec_nr", IRQ),
    fields: { vec: "vec_nr" },
  })),
  ...["tasklet_entry", "tasklet_exit"].map((name) => ({
    id: `irq:${name}`,
    tracepoint: tp(name, "struct tasklet_struct *t, void *func", IRQ),
    fields: { tasklet: "(unsigned long)t", func: "(unsigned long)func" },
  })),
  {
    id: "timer:hrtimer_expire_entry",
    tracepoint: tp("hrtimer_expire_entry", "struct hrtimer *hrtimer, ktime_t *now", TIMER),
    fields: {
      hrtimer: "(unsigned long)hrtimer",
      now: "*now",
      function: "(unsigned long)hrtimer->function",
    },
  },
  {
    id: "timer:hrtimer_expire_exit",
    tracepoint: tp("hrtimer_expire_exit", "struct hrtimer *hrtimer", TIMER),
    fields: { hrtimer: "(unsigned long)hrtimer" },
  },
  {
    id: "timer:timer_expire_entry",
    tracepoint: tp("timer_expire_entry", "struct timer_list *timer, unsigned long baseclk", TIMER),
    fields: {
      timer: "(unsigned long)timer",
      function: "(unsigned long)timer->function",
      expires: "timer->expires",
      now: "jiffies",
      baseclk: "baseclk",
    },
  },
  {
    id: "timer:timer_expire_exit",
    tracepoint: tp("timer_expire_exit", "struct timer_list *timer", TIMER),
    fields: { timer: "(unsigned long)timer" },
  },
  // x86's irq_vectors:*_entry/_exit, TP_PROTO(int vector) all
  ...VECTOR_NAMES.flatMap((v) =>
    ["entry", "exit"].map((edge) => ({
      id: `${VECTOR_CATEGORY}:${v}_${edge}`,
      tracepoint: tp(`${v}_${edge}`, "int vector", []),
      fields: { vector: "vector" },
    })),
  ),
  {
    id: "raw_syscalls:sys_enter",
    tracepoint: SYS_ENTER,
    fields: { id: "id" },
  },
  {
    id: "raw_syscalls:sys_exit",
    tracepoint: SYS_EXIT,
    fields: { id: "syscall_get_nr(current, regs)", ret: "ret" },
  },
  {
    id: "block:block_rq_issue",
    tracepoint: tp("block_rq_issue", "struct request *rq", BLOCK),
    fields: {
      dev: BLOCK_DEV,
      sector: "blk_rq_trace_sector(rq)",
      nr_sector: "blk_rq_trace_nr_sectors(rq)",
      bytes: "blk_rq_bytes(rq)",
      comm: "current->comm",
    },
  },
  {
    id: "block:block_rq_complete",
    tracepoint: tp(
      "block_rq_complete",
      "struct request *rq, blk_status_t error, unsigned int nr_bytes",
      BLOCK,
    ),
    fields: {
      dev: BLOCK_DEV,
      sector: "blk_rq_pos(rq)",
      nr_sector: "nr_bytes >> 9",
      error: "blk_status_to_errno(error)",
    },
  },
  {
    id: "net:netif_receive_skb",
    tracepoint: tp("netif_receive_skb", "struct sk_buff *skb", [...SKB, "linux/netdevice.h"]),
    fields: { skbaddr: "(unsigned long)skb", len: "skb->len", name: "skb->dev->name" },
  },
  {
    id: "skb:consume_skb",
    tracepoint: {
      ...tp("consume_skb", "struct sk_buff *skb", SKB),
      grown: {
        flag: "CONSUME_SKB_LOCATION",
        header: "include/trace/events/skb.h",
        pattern: "TP_PROTO(struct sk_buff \\*skb, void \\*location)",
        proto: "struct sk_buff *skb, void *location",
        since: "6.3",
      },
    },
    fields: { skbaddr: "(unsigned long)skb" },
  },
  {
    id: "skb:kfree_skb",
    tracepoint: {
      ...tp("kfree_skb", "struct sk_buff *skb, void *location, enum skb_drop_reason reason", SKB),
      grown: {
        flag: "KFREE_SKB_RX_SK",
        header: "include/trace/events/skb.h",
        pattern: "struct sock \\*rx_sk",
        proto:
          "struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk",
        since: "6.11",
      },
    },
    fields: {
      skbaddr: "(unsigned long)skb",
      location: "(unsigned long)location",
      protocol: "ntohs(skb->protocol)",
      reason: "reason",
    },
  },
  {
    id: "skb:skb_copy_datagram_iovec",
    tracepoint: tp("skb_copy_datagram_iovec", "const struct sk_buff *skb, int len", SKB),
    fields: { skbaddr: "(unsigned long)skb", len: "len" },
  },
];

/** syscalls:* event names whose __NR_ macro has another name on x86-64. */
const SYSCALL_ALIASES: Record<string, string> = {
  newstat: "stat",
  newfstat: "fstat",
  newlstat: "lstat",
  newuname: "uname",
  newfstatat: "newfstatat",
};

/**
 * syscalls:sys_enter_NAME / sys_exit_NAME are not tracepoints of their own: the kernel
 * generates them from raw_syscalls with the syscall metadata. The module does the same:
 * a raw_syscalls probe filtered on the number, with the arguments read from the registers
 * in the order of the event's format fields (after __syscall_nr).
 */
function syscallMapping(id: string, argFields: string[]): EventMapping | undefined {
  const match = /^syscalls:sys_(enter|exit)_(\w+)$/.exec(id);
  if (!match) return undefined;
  const [, side, name] = match;
  const nr = `__NR_${SYSCALL_ALIASES[name] ?? name}`;
  // 32-bit tasks use another numbering: their calls are not these events.
  if (side === "exit") {
    const number = "syscall_get_nr(current, regs)";
    return {
      id,
      tracepoint: SYS_EXIT,
      fields: { __syscall_nr: number, ret: "ret" },
      condition: `!in_compat_syscall() && ${number} == ${nr}`,
    };
  }
  const condition = `!in_compat_syscall() && id == ${nr}`;
  const fields: Record<string, string> = { __syscall_nr: "id" };
  argFields.slice(0, 6).forEach((field, i) => {
    fields[field] = `args[${i}]`;
  });
  return { id, tracepoint: SYS_ENTER, fields, condition };
}

/**
 * The mapping for an event, or undefined when the kmod target does not support it.
 * `fieldNames` are the event's non-common format fields in order (for syscalls:*).
 */
export function findEventMapping(id: string, fieldNames: string[]): EventMapping | undefined {
  const fixed = FIXED.find((m) => m.id === id);
  if (fixed) return fixed;
  return syscallMapping(
    id,
    fieldNames.filter((f) => f !== "__syscall_nr"),
  );
}

/** Names for the "supported tracepoints" note of the diagnostic. */
export function supportedEventNames(): string[] {
  return [...FIXED.map((m) => m.id), "syscalls:sys_enter_*", "syscalls:sys_exit_*"];
}
