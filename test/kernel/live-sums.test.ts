// The summary's exact counters from the kernel: `sum_ns` is the sum of every pair's latency
// (each pair here is a hit, so it equals the sum over the hit records), and `missed` counts
// the events the tracker's programs never ran for: the kernel's recursion misses, counted
// when a tracker's tracepoint fires in an interrupt while another tracing program runs on
// that CPU (provoked with a slow program), read from bpf_prog_info (checked exactly on a
// raw tracepoint program that recurses).

import { execFileSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assemble, encode } from "../../src/compiler/bpf/asm.ts";
import {
  Add,
  call,
  exit,
  FP,
  JEq,
  ldMapFd,
  Mov,
  R0,
  R1,
  R2,
  R3,
  storeImm,
} from "../../src/compiler/bpf/insn.ts";
import {
  BpfMapType,
  BpfProgType,
  closeFd,
  createMap,
  loadProgram,
  programRecursionMisses,
} from "../../src/kernel/bpf.ts";
import { bpf, freshAttr } from "../../src/kernel/bpf-attr.ts";
import { NativeMemory } from "../../src/kernel/libc.ts";
import { attachTracepoint } from "../../src/kernel/perf.ts";
import { compileText, namedSleep, run, runLive } from "./live-support.ts";
import { kernelSkipReason, reportSkip, tracepointId } from "./support.ts";

for (const table of ["set-associative", "hash"] as const) {
  test(`sum_ns is the exact sum of the pairs' latencies (${table} table)`, async () => {
    const sleeper = namedSleep("ltsh_summed");
    const plan = compileText(`
track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_summed"
    -> sys_exit_clock_nanosleep($tid) > 1ns
`);
    plan.options = { ...plan.options, "pending.table": table };
    try {
      const { hits, summaries } = await runLive(plan, async () => {
        for (const seconds of ["0.002", "0.011", "0.005", "0.023"])
          await run([sleeper.path, seconds]);
      });
      const [nap] = summaries;
      assert.equal([nap.pairs, nap.hits, nap.dropped, hits.length], [4, 4, 0, 4]);
      const sum = hits.reduce((n, h) => n + h.latency_ns, 0);
      assert.ok(sum > 41e6, `slept 41 ms in all, the hits say ${sum} ns`);
      assert.is(nap.sum_ns, sum);
      assert.is(nap.missed, 0);
    } finally {
      sleeper.remove();
    }
  });
}

/** bpf_trace_printk(fmt, size): a helper the codegen never calls. */
const TRACE_PRINTK = 6;
/** BPF_RAW_TRACEPOINT_OPEN (enum bpf_cmd): attaches a raw tracepoint program, returns a link fd. */
const RAW_TRACEPOINT_OPEN = 17;

/** printk("x"); return 0 */
const printk = encode(
  assemble([
    storeImm(FP, -8, 0x78, 8),
    Mov.reg(R1, FP),
    Add.imm(R1, -8),
    Mov.imm(R2, 2),
    call(TRACE_PRINTK),
    Mov.imm(R0, 0),
    exit(),
  ]),
);

function attachRaw(fd: number, tracepoint: string): number {
  const name = NativeMemory.alloc(64);
  try {
    name.bytes.set(Buffer.from(`${tracepoint}\0`));
    const attr = freshAttr();
    attr.view.setBigUint64(0, name.ptr, true);
    attr.view.setUint32(8, fd, true);
    const link = bpf(RAW_TRACEPOINT_OPEN, attr);
    if (link < 0) throw new Error(`raw tracepoint ${tracepoint}: errno ${-link}`);
    return link;
  } finally {
    name.free();
  }
}

test("a program's recursion misses are read from the kernel (bpf_prog_info)", () => {
  // A printk on sys_enter_getppid runs a raw tracepoint program on bpf_trace_printk that
  // prints too: its nested run is skipped by the kernel and counted, once per getppid.
  const fds = [
    loadProgram({
      name: "ltsh_t_getppid",
      type: BpfProgType.TRACEPOINT,
      insns: printk,
      license: "GPL",
    }),
    loadProgram({
      name: "ltsh_t_printk",
      type: BpfProgType.RAW_TRACEPOINT,
      insns: printk,
      license: "GPL",
    }),
  ];
  const [outer, nested] = fds;
  const links: { close(): void }[] = [];
  try {
    links.push(attachTracepoint(outer, tracepointId("syscalls:sys_enter_getppid")));
    const raw = attachRaw(nested, "bpf_trace_printk");
    links.push({ close: () => closeFd(raw) });
    assert.is(programRecursionMisses(nested), 0);
    execFileSync("perl", ["-e", "getppid() for 1..10"]);
    // other processes' getppid calls print too
    assert.ok(programRecursionMisses(nested)! >= 10, `${programRecursionMisses(nested)} misses`);
    assert.is(programRecursionMisses(outer), 0);
  } finally {
    for (const link of links) link.close();
    for (const fd of fds) closeFd(fd);
  }
});

/** bpf_probe_read_kernel(dst, size, src) */
const PROBE_READ_KERNEL = 113;
const MAP_LOOKUP_ELEM = 1;
const SLOW_COPY = 2 << 20;

/**
 * A slow program on sys_enter_getppid: copies 2 MiB within an array value (a few hundred
 * µs), long enough for timer interrupts to land while it runs.
 */
function attachSlow(): () => void {
  const map = createMap({
    name: "ltsh_t_slow",
    type: BpfMapType.ARRAY,
    keySize: 4,
    valueSize: SLOW_COPY,
    maxEntries: 1,
  });
  const insns = assemble([
    storeImm(FP, -4, 0, 4),
    ldMapFd(R1, "slow"),
    Mov.reg(R2, FP),
    Add.imm(R2, -4),
    call(MAP_LOOKUP_ELEM),
    JEq.imm(R0, 0, "out"),
    Mov.reg(R1, R0),
    Mov.imm(R2, SLOW_COPY),
    Mov.reg(R3, R0),
    call(PROBE_READ_KERNEL),
    { ...Mov.imm(R0, 0), labels: ["out"] },
    exit(),
  ]);
  const fd = loadProgram({
    name: "ltsh_t_slow",
    type: BpfProgType.TRACEPOINT,
    insns: encode(insns, new Map([["slow", map]])),
    license: "GPL",
  });
  const link = attachTracepoint(fd, tracepointId("syscalls:sys_enter_getppid"));
  return () => {
    link.close();
    closeFd(fd);
    closeFd(map);
  };
}

test("missed: timer interrupts the tracker's programs never saw, as another program ran", async () => {
  const plan = compileText("track tick: local_timer_entry($cpu) -> local_timer_exit($cpu)");
  const detach = attachSlow();
  try {
    const { summaries } = await runLive(plan, async () => {
      execFileSync("perl", ["-e", "getppid() for 1..300"]);
    });
    const [tick] = summaries;
    assert.ok(tick.pairs > 0, "ticks outside the slow program pair");
    assert.ok(tick.missed > 0, `${tick.missed} missed`);
  } finally {
    detach();
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-sums", skip);
else test.run();
