// What the VM test does with each example's module: module parameters at insmod, guest
// commands per phase (workloads from scripts/vm/guest/ltwork.c), and the checks on the
// hits and stats read back. Thresholds are lowered through the module parameters, which
// is itself under test: they must apply at once, without rebuilding.

import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { KernelSymbols } from "../../src/kernel/kallsyms.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { HIT_RECORD_SIZE } from "../../src/session/kmod-decode.ts";
import { replayCancel } from "./cancel.ts";
import { CHAIN_SCENARIO } from "./chain.ts";
import { type ModuleRun, type Phase, workloadValues } from "./console.ts";
import { PAIRS_SCENARIO } from "./pairs.ts";

export interface Scenario {
  /**
   * File name without .lt, in examples/ (or in test/vm/programs/ with `program`); the module
   * is lt_<example>, its tracker is named <example>.
   */
  example: string;
  /** The file is one of test/vm/programs/: a test's own program, not an example. */
  program?: true;
  insmodParams: string;
  /** Records ltread prints per phase (it counts them all); 100 unless said (a chain hit is 4). */
  printRecords?: number;
  /** Phase name → guest shell commands ($P is the module's parameters directory). */
  phases: [string, string][];
  /** `plan`: the module's tracker. */
  check(run: ModuleRun, guest: GuestFacts, plan: TrackerPlan): string[];
  /** What the checks compared, for the report's line. */
  note?(run: ModuleRun): string;
}

/** Read from the console outside the modules' sections. */
export interface GuestFacts {
  /** dev_t of /dev/vda as the kernel encodes it (major << 20 | minor). */
  vdaDevt: number | null;
  /** IRQ numbers /proc/interrupts lists for virtio devices. */
  virtioIrqs: number[];
  /** __handle_irq_event_percpu and the symbol after it, from the guest's /proc/kallsyms. */
  symbols: KernelSymbols | null;
}

const KERNEL_ADDRESS = 0xffff800000000000n;

function phase(run: ModuleRun, name: string): Phase {
  return (
    run.phases.find((p) => p.name === name) ?? {
      name,
      hits: [],
      stacks: [],
      records: 0,
      output: [],
      undecodable: 0,
    }
  );
}

/** Failure messages; `expect(cond, msg)` keeps the checks one line each. */
class Checks {
  readonly failures: string[] = [];
  expect(ok: boolean, message: string): this {
    if (!ok) this.failures.push(message);
    return this;
  }
  /** Every hit has a plausible latency for its kind and the begin/end probes of the plan. */
  hitsPlausible(hits: HitRecord[], begins: string[], ends: string[], maxNs = 2e9): this {
    for (const hit of hits.slice(0, 50)) {
      this.expect(
        hit.latency_ns > 0 && hit.latency_ns < maxNs,
        `implausible latency ${hit.latency_ns} ns`,
      );
      this.expect(
        begins.includes(hit.begin.probe),
        `begin probe ${hit.begin.probe} not in ${begins}`,
      );
      if (hit.kind === "threshold") {
        this.expect(
          hit.end !== null && ends.includes(hit.end.probe),
          `end probe ${hit.end?.probe}`,
        );
        this.expect(hit.end !== null && hit.end.ts_ns > hit.begin.ts_ns, "end before begin");
      }
    }
    return this;
  }
}

const threshold = (hits: HitRecord[]) => hits.filter((h) => h.kind === "threshold");

/** The counters a summary shares with the reference's. */
function counters(s: SummaryRecord | undefined) {
  if (!s) return null;
  const { pairs, hits, timeouts, dropped, pending, cancelled } = s;
  return { pairs, hits, timeouts, dropped, pending, cancelled };
}

const CANCEL_ROUNDS = 100;

/**
 * `cancel` with exact counts: `ltwork cancel N` is a known syscall sequence, so the module's
 * counters must be the replay reference's over the same sequence (test/vm/cancel.ts).
 */
export const CANCEL_SCENARIO: Scenario = {
  example: "forget",
  program: true,
  insmodParams: "",
  phases: [["rounds", `ltwork cancel ${CANCEL_ROUNDS}`]],
  check(run, _guest, plan) {
    const rounds = phase(run, "rounds");
    const pid = BigInt(workloadValues(rounds).pid);
    const want = counters(replayCancel(plan, CANCEL_ROUNDS));
    const got = counters(run.stats[0]);
    return new Checks()
      .expect(want?.cancelled === CANCEL_ROUNDS / 2, `the reference cancelled ${want?.cancelled}`)
      .expect(
        JSON.stringify(got) === JSON.stringify(want),
        `module ${JSON.stringify(got)}, replay ${JSON.stringify(want)}`,
      )
      .expect(
        rounds.hits.length === CANCEL_ROUNDS && rounds.hits.every((h) => h.key[0] === pid),
        `${rounds.hits.length} hits, not one per round of ltwork (tid ${pid})`,
      ).failures;
  },
};

/**
 * `then print(FIELD, ...)` and key_comm on kmod (test/vm/programs/offprint.lt): ltwork's
 * sleeps block in S, and each hit carries the fields replay and eBPF give for the same
 * switches: the begin's prev_state (shown "S") and next_comm, the end's prev_comm, the key
 * named by the end's next_comm. Each hit is 2 records (the captures follow it).
 */
export const PRINT_SCENARIO: Scenario = {
  example: "offprint",
  program: true,
  insmodParams: "",
  printRecords: 200,
  phases: [["sleep", "ltwork sleep 20 3000"]],
  check(run) {
    const sleep = phase(run, "sleep");
    const pid = BigInt(workloadValues(sleep).pid);
    const mine = sleep.hits.filter((h) => h.key[0] === pid);
    const named = (v: unknown) => typeof v === "string" && v !== "";
    return new Checks()
      .expect(mine.length >= 10, `${mine.length} hits of ltwork for 20 sleeps of 3 ms`)
      .expect(
        mine.every((h) => h.fields?.prev_state === 1n && h.fields_text?.prev_state === "S"),
        `prev_state not 1 (S): ${JSON.stringify(mine[0]?.fields_text)}`,
      )
      .expect(
        mine.every((h) => named(h.fields?.next_comm) && named(h.fields?.["end.prev_comm"])),
        "next_comm or end.prev_comm missing",
      )
      .expect(
        mine.every((h) => h.key_comm === "ltwork"),
        `key_comm ${mine[0]?.key_comm}, not ltwork (the end's next_comm)`,
      ).failures;
  },
};

export const SCENARIOS: Scenario[] = [
  {
    example: "wakeup",
    insmodParams: "wakeup_threshold_ns=1",
    // 2 records a hit: the key's name (key_comm) is carried in a captures record
    printRecords: 200,
    phases: [
      ["sleep", "ltwork sleep 50 1000"],
      [
        "timeouts",
        "echo 0 > $P/wakeup_threshold_ns; echo 1 > $P/wakeup_timeout_ns; ltwork sleep 20 1000",
      ],
    ],
    check(run) {
      const sleep = phase(run, "sleep");
      const pid = workloadValues(sleep).pid;
      const timeouts = phase(run, "timeouts").hits;
      return new Checks()
        .expect(
          threshold(sleep.hits).length >= 20,
          `${sleep.hits.length} wakeup hits for 50 sleeps`,
        )
        .expect(
          sleep.hits.some((h) => h.key[0] === BigInt(pid)),
          `no wakeup of ltwork (pid ${pid})`,
        )
        .expect(
          sleep.hits.filter((h) => h.key[0] === BigInt(pid)).every((h) => h.key_comm === "ltwork"),
          "a wakeup of ltwork not named ltwork (key_comm from comm / next_comm)",
        )
        .hitsPlausible(sleep.hits, ["sched:sched_wakeup"], ["sched:sched_switch"])
        .expect(
          timeouts.length > 0 && timeouts.every((h) => h.kind === "timeout" && h.end === null),
          "timeout 1 ns set at run time gave no timeout hits (or threshold hits with threshold 0)",
        ).failures;
    },
  },
  {
    example: "offcpu",
    insmodParams: "offcpu_threshold_ns=1000000",
    printRecords: 200,
    phases: [["sleep", "ltwork sleep 20 3000"]],
    check(run) {
      const sleep = phase(run, "sleep");
      const pid = BigInt(workloadValues(sleep).pid);
      const mine = sleep.hits.filter((h) => h.key[0] === pid);
      // ltwork also blocks outside its sleeps (pages of its binary read over 9p, its output
      // to the console): under a loaded host such a wait can pass the 1 ms threshold
      const sleeps = mine.filter((h) => h.latency_ns >= 3e6);
      return new Checks()
        .expect(
          sleeps.length >= 10 && sleeps.length <= 20,
          `${sleeps.length} off-CPU hits of ltwork of 3 ms or more for 20 sleeps of 3 ms (${mine.length} in all)`,
        )
        .expect(
          mine.every((h) => h.begin.comm === "ltwork" && BigInt(h.begin.tid) === pid),
          "begin context is not the task switched out",
        )
        .hitsPlausible(sleep.hits, ["sched:sched_switch"], ["sched:sched_switch"]).failures;
    },
  },
  {
    example: "syscall",
    insmodParams: "",
    phases: [
      ["high", "echo 1000000000 > $P/syscall_threshold_ns; ltwork syscalls 1000"],
      ["low", "echo 1000000 > $P/syscall_threshold_ns; ltwork syscalls 1000"],
    ],
    check(run) {
      const high = phase(run, "high");
      const low = phase(run, "low");
      const highPid = BigInt(workloadValues(high).pid);
      const lowPid = BigInt(workloadValues(low).pid);
      // The five 5 ms nanosleeps; the task's other calls (console writes) may be slow too, and
      // so may its execve under TCG, which begins under the shell's name and ends as ltwork.
      const mine = low.hits.filter((h) => h.key[0] === lowPid);
      const sleeps = mine.filter((h) => h.latency_ns >= 5e6 && h.begin.comm === "ltwork");
      return new Checks()
        .expect(!high.hits.some((h) => h.key[0] === highPid), "hits above a 1 s threshold")
        .expect(
          sleeps.length >= 5,
          `${sleeps.length} hits for 5 sleeps of 5 ms at a 1 ms threshold`,
        )
        .expect(
          mine.every((h) => h.end?.comm === "ltwork" && BigInt(h.end?.tid ?? 0) === lowPid),
          "slow syscall hit of the ltwork task's thread id not ending in that task",
        )
        .hitsPlausible(low.hits, ["raw_syscalls:sys_enter"], ["raw_syscalls:sys_exit"]).failures;
    },
  },
  {
    example: "irq",
    insmodParams: "irq_threshold_ns=1",
    // each hit is two records (the hit, then its captured name), and on PREEMPT_RT the serial
    // console's own IRQ (ttyS0, its handler threaded) gives the first fifty hits or so
    printRecords: 400,
    phases: [["disk", "ltwork disk /dev/vda 20"]],
    check(run, guest) {
      const disk = phase(run, "disk");
      const virtio = disk.hits.filter((h) => guest.virtioIrqs.includes(Number(h.key[0])));
      // `then print, stack`: each hit carries the stack of its irq_handler_exit, which the
      // kernel's IRQ core calls from __handle_irq_event_percpu.
      const stacks = disk.stacks.map((s) => s.map((a) => guest.symbols?.resolve(a) ?? ""));
      const inIrqCore = stacks.filter((s) => s.some((f) => f.startsWith("__handle_irq_event")));
      return new Checks()
        .expect(virtio.length >= 5, `${virtio.length} hits on virtio IRQs ${guest.virtioIrqs}`)
        .expect(
          guest.symbols !== null && disk.hits.length > 0 && inIrqCore.length === disk.hits.length,
          `${inIrqCore.length} of ${disk.hits.length} hits' stacks pass through __handle_irq_event_percpu; first: ${stacks[0]?.slice(0, 6).join(" < ")}`,
        )
        .expect(
          disk.hits.every((h) => h.key[1] === BigInt(h.begin.cpu)),
          "key cpu is not the CPU",
        )
        .hitsPlausible(disk.hits, ["irq:irq_handler_entry"], ["irq:irq_handler_exit"], 1e8)
        .failures;
    },
  },
  {
    example: "block",
    insmodParams: "block_threshold_ns=1",
    phases: [["disk", "ltwork disk /dev/vda 20"]],
    check(run, guest) {
      const disk = phase(run, "disk");
      const onVda = disk.hits.filter(
        (h) => guest.vdaDevt !== null && h.key[0] === BigInt(guest.vdaDevt),
      );
      return new Checks()
        .expect(
          onVda.length >= 20,
          `${onVda.length} hits on /dev/vda (dev ${guest.vdaDevt}) for 40 I/Os`,
        )
        .expect(
          onVda.every((h) => (h.key[1] as bigint) < 16384n),
          "sector beyond the 8 MiB disk",
        )
        .hitsPlausible(disk.hits, ["block:block_rq_issue"], ["block:block_rq_complete"]).failures;
    },
  },
  {
    example: "network",
    insmodParams: "network_threshold_ns=1",
    phases: [["tcp", "ltwork tcp 5"]],
    check(run) {
      const tcp = phase(run, "tcp");
      const ends = ["skb:skb_copy_datagram_iovec", "skb:consume_skb", "skb:kfree_skb"];
      return new Checks()
        .expect(
          threshold(tcp.hits).length >= 10,
          `${tcp.hits.length} receive hits for 5 TCP exchanges`,
        )
        .expect(
          tcp.hits.every((h) => (h.key[0] as bigint) >= KERNEL_ADDRESS),
          "skbaddr not a kernel address",
        )
        .expect(
          tcp.hits.some((h) => h.end?.probe === "skb:skb_copy_datagram_iovec"),
          "no skb copied to user",
        )
        .hitsPlausible(tcp.hits, ["net:netif_receive_skb"], ends).failures;
    },
  },
  {
    example: "ttfb",
    insmodParams: "ttfb_threshold_ns=1000000",
    phases: [["tcp", "ltwork tcp 5"]],
    check(run) {
      const tcp = phase(run, "tcp");
      const server = BigInt(workloadValues(tcp).server_pid);
      const mine = tcp.hits.filter((h) => h.key[0] === server);
      const begins = ["syscalls:sys_exit_accept", "syscalls:sys_exit_accept4"];
      const ends = ["write", "writev", "sendto", "sendmsg"].map((s) => `syscalls:sys_enter_${s}`);
      return new Checks()
        .expect(mine.length === 5, `${mine.length} first-byte hits of the server for 5 connections`)
        .expect(
          mine.every((h) => h.latency_ns >= 2e6),
          "first byte sooner than the server's 2 ms think time",
        )
        .expect(
          mine.every(
            (h) => h.begin.comm === "ltwork" && h.end?.probe === "syscalls:sys_enter_write",
          ),
          "wrong begin task or end probe",
        )
        .hitsPlausible(tcp.hits, begins, ends).failures;
    },
  },
  CANCEL_SCENARIO,
  PRINT_SCENARIO,
  CHAIN_SCENARIO,
  PAIRS_SCENARIO,
];

/** The guest commands for one module: insmod, phases with the reader, stop, stats, rmmod. */
export function scenarioScript(s: Scenario, module: string): string {
  const lines = [
    `echo "@@ltsh module ${module}"`,
    `insmod /lib/ltsh/${module}.ko ${s.insmodParams}; echo "@@ltsh insmod ${module} rc=$?"`,
    `P=/sys/module/${module}/parameters`,
  ];
  // Hits stop (threshold and timeout 0) before reading: the reader's own wakeups and
  // syscalls would otherwise feed the trackers it reads. Each phase sets what it needs.
  const quiet = `echo 0 > $P/${s.example}_threshold_ns; echo 0 > $P/${s.example}_timeout_ns`;
  const print = s.printRecords ?? 100;
  for (const [name, commands] of s.phases) {
    lines.push(`echo "@@ltsh phase ${module} ${name}"`, commands, quiet);
    lines.push(`ltread /dev/ltsh_${module} ${HIT_RECORD_SIZE} 300 ${print}`);
  }
  // Stopped (probes and sweep gone), the last read takes every record the counters include.
  lines.push(
    `echo "@@ltsh phase ${module} stopped"`,
    `echo 1 > $P/stop; echo "@@ltsh stop ${module} rc=$? $(cat $P/stop)"`,
    `ltread /dev/ltsh_${module} ${HIT_RECORD_SIZE} 300 ${print}`,
  );
  lines.push(
    `echo "@@ltsh stats ${module}"`,
    `cat /proc/ltsh_${module}/stats`,
    `echo "@@ltsh end-stats ${module}"`,
    `rmmod ${module}; echo "@@ltsh rmmod ${module} rc=$?"`,
  );
  return lines.join("\n");
}
