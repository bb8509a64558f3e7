// What the parts of a tracker's programs cost in the kernel: variants of "remember this pid's
// begin" on sched_wakeup and "find it, compute the latency, forget it" on sched_switch, each
// with its own pending table, all attached together, timed by bpf_stats under `perf bench
// sched pipe`; attach order rotated (the first program on a tracepoint pays the cold cache
// misses). No stats or histogram: those cost the same whatever the table. Run as root:
//   node --import tsx bench/live-begin-cost.ts

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import {
  BpfMapType,
  BpfProgType,
  closeFd,
  createMap,
  loadProgram,
  objectId,
} from "../src/kernel/bpf.ts";
import { attachTracepoint } from "../src/kernel/perf.ts";
import { asm, Helper, insn, program, tracepointId } from "../test/kernel/support.ts";

interface Variant {
  name: string;
  /** Also store pid_tgid and the CPU (the begin context). */
  ctx: boolean;
  /** Also store the current comm (bpf_get_current_comm). */
  comm: boolean;
  /** Pending table: a hash (update with this flag) or a direct-mapped array slot. */
  table: "hash-any" | "hash-noexist" | "array";
}

const VARIANTS: Variant[] = [
  { name: "hash, ts (bpftrace's begin)", ctx: false, comm: false, table: "hash-any" },
  { name: "hash NOEXIST, ts", ctx: false, comm: false, table: "hash-noexist" },
  { name: "hash NOEXIST, ts + pid/cpu", ctx: true, comm: false, table: "hash-noexist" },
  {
    name: "hash NOEXIST, ts + pid/cpu + comm (ltsh)",
    ctx: true,
    comm: true,
    table: "hash-noexist",
  },
  { name: "array slot, ts", ctx: false, comm: false, table: "array" },
  { name: "array slot, ts + pid/cpu + comm", ctx: true, comm: true, table: "array" },
];

const PID = 24; // sched_wakeup: pid_t pid
const NEXT_PID = 56; // sched_switch: pid_t next_pid
const SLOTS = 8192;

/** r1 = (s64)(s32) *(u32 *)(r1 + off); *(u64 *)(r10 - 8) = r1 */
const keyFrom = (off: number) => [
  insn(0x61, 1, 1, off, 0),
  insn(0x67, 1, 0, 0, 32),
  insn(0xc7, 1, 0, 0, 32),
  asm.storeDw(10, -8, 1),
];

/** The begin context at r10-48: ts, pid_tgid, cpu, comm[16] (zeroed where not captured). */
function hashBegin(map: number, v: Variant): Uint8Array {
  const body = [...keyFrom(PID)];
  for (const off of [-48, -40, -32, -24, -16]) body.push(insn(0x7a, 10, 0, off, 0)); // = 0
  if (v.ctx)
    body.push(
      asm.call(Helper.getCurrentPidTgid),
      asm.storeDw(10, -40, 0),
      asm.call(8),
      insn(0x63, 10, 0, -32, 0),
    );
  if (v.comm) body.push(asm.movReg(1, 10), asm.addImm(1, -24), asm.movImm(2, 16), asm.call(16));
  body.push(asm.call(5), asm.storeDw(10, -48, 0));
  body.push(
    asm.loadMapFd(1, map),
    asm.movReg(2, 10),
    asm.addImm(2, -8),
    asm.movReg(3, 10),
    asm.addImm(3, -48),
  );
  body.push(
    asm.movImm(4, v.table === "hash-noexist" ? 1 : 0),
    asm.call(2),
    asm.movImm(0, 0),
    asm.exit(),
  );
  return program(...body);
}

/** slot = pid & (SLOTS - 1); the slot holds key, ts, pid_tgid, cpu, comm. */
function arrayBegin(map: number, v: Variant): Uint8Array {
  const head = [
    insn(0x61, 7, 1, PID, 0),
    asm.movReg(1, 7),
    insn(0x57, 1, 0, 0, SLOTS - 1),
    insn(0x63, 10, 1, -4, 0),
  ];
  head.push(
    asm.loadMapFd(1, map),
    asm.movReg(2, 10),
    asm.addImm(2, -4),
    asm.call(Helper.mapLookupElem),
  );
  const fill = [asm.movReg(8, 0), insn(0x7b, 8, 7, 0, 0), asm.call(5), asm.storeDw(8, 8, 0)];
  if (v.ctx)
    fill.push(
      asm.call(Helper.getCurrentPidTgid),
      asm.storeDw(8, 16, 0),
      asm.call(8),
      insn(0x63, 8, 0, 24, 0),
    );
  if (v.comm) fill.push(asm.movReg(1, 8), asm.addImm(1, 32), asm.movImm(2, 16), asm.call(16));
  return program(...head, asm.jeqImm(0, 0, fill.length), ...fill, asm.movImm(0, 0), asm.exit());
}

/** End: find next_pid's begin, compute the latency, forget the begin (hash: lookup + delete). */
function hashEnd(map: number): Uint8Array {
  const found = [
    asm.movReg(6, 0),
    asm.call(5),
    asm.loadDw(1, 6, 0),
    insn(0x1f, 0, 1, 0, 0), // r0 -= r1: the latency
    asm.loadMapFd(1, map),
    asm.movReg(2, 10),
    asm.addImm(2, -8),
    asm.call(3),
  ];
  return program(
    ...keyFrom(NEXT_PID),
    asm.loadMapFd(1, map),
    asm.movReg(2, 10),
    asm.addImm(2, -8),
    asm.call(Helper.mapLookupElem),
    asm.jeqImm(0, 0, found.length + 1), // the ld_imm64 in `found` is two slots
    ...found,
    asm.movImm(0, 0),
    asm.exit(),
  );
}

/** End over array slots: the slot of next_pid, its key compared, the latency, the key cleared. */
function arrayEnd(map: number): Uint8Array {
  const head = [
    insn(0x61, 7, 1, NEXT_PID, 0),
    asm.movReg(1, 7),
    insn(0x57, 1, 0, 0, SLOTS - 1),
    insn(0x63, 10, 1, -4, 0),
    asm.loadMapFd(1, map),
    asm.movReg(2, 10),
    asm.addImm(2, -4),
    asm.call(Helper.mapLookupElem),
  ];
  const found = [
    asm.movReg(6, 0),
    asm.loadDw(1, 6, 0),
    insn(0x5d, 1, 7, 0, 0), // if r1 != r7: another key's begin (or none)
    asm.call(5),
    asm.loadDw(1, 6, 8),
    insn(0x1f, 0, 1, 0, 0),
    insn(0x7a, 6, 0, 0, 0), // *(u64 *)(r6 + 0) = 0: slot free
  ];
  const exitAt = found.length - 3; // the != jump skips to the exit
  found[2] = insn(0x5d, 1, 7, exitAt, 0);
  return program(...head, asm.jeqImm(0, 0, found.length), ...found, asm.movImm(0, 0), asm.exit());
}

function attachVariant(v: Variant) {
  const array = v.table === "array";
  const map = array
    ? createMap({
        name: "ltsh_cost_a",
        type: BpfMapType.ARRAY,
        keySize: 4,
        valueSize: 48,
        maxEntries: SLOTS,
      })
    : createMap({
        name: "ltsh_cost_h",
        type: BpfMapType.HASH,
        keySize: 8,
        valueSize: 40,
        maxEntries: SLOTS,
      });
  const load = (name: string, insns: Uint8Array) =>
    loadProgram({ name, type: BpfProgType.TRACEPOINT, insns, license: "GPL" });
  const begin = load("ltsh_cost_b", array ? arrayBegin(map, v) : hashBegin(map, v));
  const end = load("ltsh_cost_e", array ? arrayEnd(map) : hashEnd(map));
  const links = [
    attachTracepoint(end, tracepointId("sched:sched_switch")),
    attachTracepoint(begin, tracepointId("sched:sched_wakeup")),
  ];
  return {
    v,
    beginId: objectId(begin),
    endId: objectId(end),
    close() {
      for (const l of links) l.close();
      for (const fd of [begin, end, map]) closeFd(fd);
    },
  };
}

function main(): void {
  const statsPath = "/proc/sys/kernel/bpf_stats_enabled";
  const statsBefore = readFileSync(statsPath, "utf8").trim();
  writeFileSync(statsPath, "1");
  const samples = new Map<string, { begin: number[]; end: number[] }>();
  try {
    for (let rot = 0; rot < VARIANTS.length; rot++) {
      const order = [...VARIANTS.slice(rot), ...VARIANTS.slice(0, rot)];
      const held = order.map(attachVariant);
      try {
        execFileSync("taskset", ["-c", "1", "perf", "bench", "sched", "pipe", "-l", "100000"]);
        const progs = JSON.parse(
          execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }),
        ) as { id: number; run_time_ns: number; run_cnt: number }[];
        const perRun = (id: number) => {
          const p = progs.find((x) => x.id === id)!;
          return p.run_time_ns / p.run_cnt;
        };
        for (const h of held) {
          const got = samples.get(h.v.name) ?? { begin: [], end: [] };
          got.begin.push(perRun(h.beginId));
          got.end.push(perRun(h.endId));
          samples.set(h.v.name, got);
        }
      } finally {
        for (const h of held) h.close();
      }
    }
  } finally {
    writeFileSync(statsPath, statsBefore);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  console.log(
    "| pending table and begin context | begin (sched_wakeup) | end (sched_switch) | sum |",
  );
  console.log("| --- | --- | --- | --- |");
  for (const [name, { begin, end }] of samples) {
    const [b, e] = [mean(begin), mean(end)];
    console.log(`| ${name} | ${b.toFixed(0)} ns | ${e.toFixed(0)} ns | ${(b + e).toFixed(0)} ns |`);
  }
}

main();
