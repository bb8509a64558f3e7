// Every USDT argument of the workload read by a BPF program from struct pt_regs, the way the
// code generator will: registers at their pt_regs offsets, memory through
// bpf_probe_read_user at base + index * scale + displacement, RIP-relative symbols at
// symbol + (regs->ip − probe address). Per probe, the sums over N iterations must equal
// the sums of the values the workload passed: this checks the parsed locations and the
// register table on every form, the indexed ones uprobe_events cannot read included, and
// the guarded probe of the shared library the workload links.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assemble, encode } from "../../src/compiler/bpf/asm.ts";
import { Helper } from "../../src/compiler/bpf/helpers.ts";
import {
  Add,
  ArSh,
  BPF_ADD,
  BPF_ATOMIC,
  BPF_DW,
  BPF_STX,
  call,
  exit,
  FP,
  type Insn,
  JEq,
  LSh,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R6,
  R7,
  R9,
  type Register,
  RSh,
  storeImm,
} from "../../src/compiler/bpf/insn.ts";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { readSymbols } from "../../src/compiler/uprobe/elf-symbols.ts";
import type { UsdtArgument } from "../../src/compiler/uprobe/usdt-args.ts";
import { readUsdtProbes, type UsdtProbe } from "../../src/compiler/uprobe/usdt-notes.ts";
import { x86Register } from "../../src/compiler/uprobe/x86-registers.ts";
import {
  BpfMapType,
  BpfProgType,
  closeFd,
  createMap,
  loadProgram,
  mapLookup,
} from "../../src/kernel/bpf.ts";
import type { Attachment } from "../../src/kernel/perf.ts";
import { attachUprobe } from "../../src/kernel/uprobe.ts";
import { buildWorkload, expectedArguments, workloadSkipReason } from "../uprobe/workload.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const PROBE_READ_USER = 112; // bpf_probe_read_user(dst, size, unsafe user src)
const IP = x86Register("rip")!.ptRegsOffset;
const SLOTS = 8; // hit count + up to 7 arguments

function atomicAdd(dst: Register, offset: number, src: Register): Insn {
  return { opcode: BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, offset, imm: BPF_ADD };
}

interface Layout {
  probe: UsdtProbe;
  symbolAddress(name: string): number;
}

/** R3 = the runtime address of a memory operand. */
function address(argument: UsdtArgument, layout: Layout): Insn[] {
  const l = argument.location;
  if (l.kind !== "memory") return [];
  const insns: Insn[] = [];
  const relocated = l.symbol !== undefined || l.base?.fullName === "ip";
  let constant = l.displacement;
  if (l.symbol !== undefined) constant += BigInt(layout.symbolAddress(l.symbol));
  if (relocated) {
    // Link-time address + load bias, the bias being regs->ip − the probe's link-time address.
    insns.push(loadMem(R3, R6, IP, 8), ldImm64(R4, constant - BigInt(layout.probe.address)));
    insns.push(Add.reg(R3, R4));
    if (l.base !== undefined && l.base.fullName !== "ip")
      insns.push(loadMem(R4, R6, l.base.ptRegsOffset, 8), Add.reg(R3, R4));
  } else {
    insns.push(l.base ? loadMem(R3, R6, l.base.ptRegsOffset, 8) : Mov.imm(R3, 0));
    insns.push(ldImm64(R4, constant), Add.reg(R3, R4));
  }
  if (l.index !== undefined) {
    insns.push(loadMem(R4, R6, l.index.ptRegsOffset, 8), LSh.imm(R4, Math.log2(l.scale)));
    insns.push(Add.reg(R3, R4));
  }
  return insns;
}

/** R7 = the argument's value, sign- or zero-extended from its size. */
function readArgument(argument: UsdtArgument, layout: Layout): Insn[] {
  const l = argument.location;
  const insns: Insn[] = [];
  if (l.kind === "constant") insns.push(ldImm64(R7, l.value));
  else if (l.kind === "register") {
    insns.push(loadMem(R7, R6, l.register.ptRegsOffset, 8));
    if (l.register.bitOffset) insns.push(RSh.imm(R7, l.register.bitOffset));
  } else {
    insns.push(...address(argument, layout), storeImm(FP, -8, 0, 8));
    insns.push(Mov.reg(R1, FP), Add.imm(R1, -8), Mov.imm(R2, argument.size));
    insns.push(call(PROBE_READ_USER), loadMem(R7, FP, -8, 8));
  }
  const shift = 64 - argument.size * 8;
  if (shift > 0) insns.push(LSh.imm(R7, shift), (argument.signed ? ArSh : RSh).imm(R7, shift));
  return insns;
}

/** Slot 0 counts hits; slot k + 1 sums argument k. */
function sumsProgram(layout: Layout, map: number): number {
  if (!layout.probe.arguments.ok) throw new Error(layout.probe.arguments.message);
  const insns: Insn[] = [
    Mov.reg(R6, R1),
    storeImm(FP, -4, 0, 4),
    Mov.reg(R2, FP),
    Add.imm(R2, -4),
    ldMapFd(R1, "sums"),
    call(Helper.map_lookup_elem),
    JEq.imm(R0, 0, "out"),
    Mov.reg(R9, R0),
    Mov.imm(R1, 1),
    atomicAdd(R9, 0, R1),
  ];
  layout.probe.arguments.value.forEach((argument, k) => {
    insns.push(...readArgument(argument, layout), atomicAdd(R9, 8 * (k + 1), R7));
  });
  insns.push({ ...Mov.imm(R0, 0), labels: ["out"] }, exit());
  return loadProgram({
    name: `ltsh_${layout.probe.name}`.slice(0, 15),
    type: BpfProgType.KPROBE,
    insns: encode(assemble(insns), new Map([["sums", map]])),
    license: "GPL",
  });
}

function probesAndSymbols(path: string) {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  const probes = readUsdtProbes(opened.value);
  const symbols = readSymbols(opened.value);
  opened.value.close();
  if (!probes.ok) throw new Error(probes.message);
  return { probes: probes.value, symbols };
}

const ITERATIONS = 20;

for (const build of ["pie", "nopie", "stripped"] as const) {
  test(`${build}: every argument of every USDT probe, read from pt_regs, sums to the expected`, () => {
    const path = buildWorkload()[build];
    const opened: { map: number; prog: number; link: Attachment; probe: UsdtProbe }[] = [];
    try {
      for (const binary of [path, buildWorkload().library]) opened.push(...attachAll(binary));
      const run = spawnSync(path, [String(ITERATIONS)], { encoding: "utf8" });
      assert.match(run.stdout, / enabled=1 lib_enabled=1$/m);
      for (const { map, probe } of opened) {
        const value = mapLookup(map, new Uint8Array(4), 8 * SLOTS)!;
        const view = new DataView(value.buffer, value.byteOffset);
        const arity = probe.arguments.ok ? probe.arguments.value.length : 0;
        const got = [...Array(arity + 1).keys()].map((k) => view.getBigInt64(8 * k, true));
        const expected = [BigInt(ITERATIONS)];
        for (let k = 0; k < arity; k++) {
          let sum = 0n;
          for (let i = 1; i <= ITERATIONS; i++) sum += BigInt(expectedArguments(i)[probe.name][k]);
          expected.push(sum);
        }
        assert.equal(got, expected, `${probe.name} (${probe.argumentText})`);
      }
    } finally {
      for (const { map, prog, link } of opened) {
        link.close();
        closeFd(prog);
        closeFd(map);
      }
    }
  });
}

/** A sums program on every USDT probe site of `path` (closed by the caller). */
function attachAll(path: string) {
  const { probes, symbols } = probesAndSymbols(path);
  const symbolAddress = (name: string) => {
    const found = symbols.find((s) => s.name === name);
    if (found === undefined) throw new Error(`no symbol ${name} in ${path}`);
    return found.address;
  };
  const opened: { map: number; prog: number; link: Attachment; probe: UsdtProbe }[] = [];
  for (const probe of probes) {
    const map = createMap({
      name: "ltsh_sums",
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 8 * SLOTS,
      maxEntries: 1,
    });
    const prog = sumsProgram({ probe, symbolAddress }, map);
    const target = { path, fileOffset: probe.fileOffset, refCtrOffset: probe.semaphoreOffset };
    opened.push({ map, prog, link: attachUprobe(prog, target), probe });
  }
  return opened;
}

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-usdt-args", skip);
else test.run();
