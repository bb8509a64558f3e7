// BPF programs on user-space probes of the test workload through the uprobe PMU: exact
// counts and argument sums for a uprobe, a uretprobe, PIE, non-PIE and stripped builds, a
// semaphore-guarded USDT probe (raised while attached, lowered after), a libc function by
// library name, and a workload on another CPU than the system-wide event's.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assemble, encode } from "../../src/compiler/bpf/asm.ts";
import { Helper } from "../../src/compiler/bpf/helpers.ts";
import {
  Add,
  BPF_ADD,
  BPF_ATOMIC,
  BPF_DW,
  BPF_STX,
  call,
  exit,
  FP,
  type Insn,
  JEq,
  JNE,
  ldMapFd,
  loadMem,
  Mov,
  R0,
  R1,
  R2,
  R6,
  R7,
  type Register,
  RSh,
  storeImm,
} from "../../src/compiler/bpf/insn.ts";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { resolveUserProbe } from "../../src/compiler/uprobe/probe-target.ts";
import { resolveBinary } from "../../src/compiler/uprobe/resolve-path.ts";
import { locateUprobe } from "../../src/compiler/uprobe/symbols.ts";
import { readUsdtProbes } from "../../src/compiler/uprobe/usdt-notes.ts";
import { ARGUMENT_REGISTERS, RETURN_REGISTER } from "../../src/compiler/uprobe/x86-registers.ts";
import {
  BpfMapType,
  BpfProgType,
  closeFd,
  createMap,
  loadProgram,
  mapLookup,
} from "../../src/kernel/bpf.ts";
import {
  attachUprobe,
  parseConfigField,
  uprobeConfig,
  uprobePmu,
} from "../../src/kernel/uprobe.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

/** lock *(u64 *)(dst + off) += src */
function atomicAdd(dst: Register, offset: number, src: Register): Insn {
  return { opcode: BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, offset, imm: BPF_ADD };
}

/** A counter: slot 0 counts hits, slot 1 sums the pt_regs word at `sumOffset`. */
class Counter {
  readonly map = createMap({
    name: "ltsh_ucount",
    type: BpfMapType.ARRAY,
    keySize: 4,
    valueSize: 16,
    maxEntries: 1,
  });
  readonly prog: number;

  constructor(sumOffset: number, onlyPid?: number) {
    const pidFilter =
      onlyPid === undefined
        ? []
        : [call(Helper.get_current_pid_tgid), RSh.imm(R0, 32), JNE.imm(R0, onlyPid, "out")];
    const insns: Insn[] = [
      Mov.reg(R6, R1),
      ...pidFilter,
      loadMem(R7, R6, sumOffset, 8),
      storeImm(FP, -4, 0, 4),
      Mov.reg(R2, FP),
      Add.imm(R2, -4),
      ldMapFd(R1, "counter"),
      call(Helper.map_lookup_elem),
      JEq.imm(R0, 0, "out"),
      Mov.imm(R1, 1),
      atomicAdd(R0, 0, R1),
      atomicAdd(R0, 8, R7),
      { ...Mov.imm(R0, 0), labels: ["out"] },
      exit(),
    ];
    this.prog = loadProgram({
      name: "ltsh_uprobe",
      type: BpfProgType.KPROBE,
      insns: encode(assemble(insns), new Map([["counter", this.map]])),
      license: "GPL",
    });
  }

  read(): { hits: bigint; sum: bigint } {
    const value = mapLookup(this.map, new Uint8Array(4), 16)!;
    const view = new DataView(value.buffer, value.byteOffset);
    return { hits: view.getBigUint64(0, true), sum: view.getBigInt64(8, true) };
  }

  close(): void {
    closeFd(this.prog);
    closeFd(this.map);
  }
}

function fileOffsetOf(path: string, spec: string): number {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  try {
    const located = locateUprobe(opened.value, spec);
    if (!located.ok) throw new Error(located.message);
    return located.value.fileOffset;
  } finally {
    opened.value.close();
  }
}

/** Runs `workload N` (optionally pinned to a CPU) and returns its summary line. */
function runWorkload(path: string, iterations: number, cpu?: number): string {
  const argv =
    cpu === undefined
      ? [path, String(iterations)]
      : ["taskset", "-c", String(cpu), path, String(iterations)];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const sumTo = (n: number) => (n * (n + 1)) / 2;

test("the PMU's format: retprobe bit 0, ref_ctr_offset in config bits 32-63", () => {
  assert.equal(parseConfigField("config:32-63\n"), { shift: 32, bits: 32 });
  assert.equal(parseConfigField("config:0"), { shift: 0, bits: 1 });
  assert.is(parseConfigField("config1:0-63"), undefined);
  const pmu = uprobePmu();
  assert.ok(pmu.type > 0);
  assert.is(
    uprobeConfig(pmu, { path: "/x", fileOffset: 1, retprobe: true, refCtrOffset: 0x4100 }),
    (0x4100n << 32n) | 1n,
  );
});

test("a uprobe on lt_add counts every call and sums its first argument, in every build", () => {
  const builds = buildWorkload();
  for (const path of [builds.pie, builds.nopie, builds.stripped]) {
    const counter = new Counter(ARGUMENT_REGISTERS[0].ptRegsOffset);
    const link = attachUprobe(counter.prog, { path, fileOffset: fileOffsetOf(path, "lt_add") });
    try {
      runWorkload(path, 20);
      assert.equal(counter.read(), { hits: 20n, sum: BigInt(sumTo(20)) }, path);
    } finally {
      link.close();
      counter.close();
    }
  }
});

test("a uretprobe on lt_add sees each return value (i + 100)", () => {
  const { pie } = buildWorkload();
  const counter = new Counter(RETURN_REGISTER.ptRegsOffset);
  const link = attachUprobe(counter.prog, {
    path: pie,
    fileOffset: fileOffsetOf(pie, "lt_add"),
    retprobe: true,
  });
  try {
    runWorkload(pie, 10);
    assert.equal(counter.read(), { hits: 10n, sum: BigInt(sumTo(10) + 100 * 10) });
  } finally {
    link.close();
    counter.close();
  }
});

test("one event on CPU 0 (pid -1) sees a process running on the last CPU", () => {
  const { pie } = buildWorkload();
  const cpus = Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim());
  if (!(cpus > 1)) return; // nothing to prove on one CPU
  const counter = new Counter(ARGUMENT_REGISTERS[0].ptRegsOffset);
  const link = attachUprobe(counter.prog, { path: pie, fileOffset: fileOffsetOf(pie, "lt_add") });
  try {
    runWorkload(pie, 7, cpus - 1);
    assert.equal(counter.read().hits, 7n);
  } finally {
    link.close();
    counter.close();
  }
});

/** A `workload serve` process: `batch(n)` runs n iterations and returns the summary line. */
async function serve(path: string) {
  const child: ChildProcessWithoutNullStreams = spawn(path, ["serve"]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value ?? "");
  const ready = await next();
  const pid = Number(/^ready pid=(\d+)$/.exec(ready)?.[1]);
  assert.ok(pid > 0, ready);
  return {
    pid,
    async batch(n: number) {
      child.stdin.write(`${n}\n`);
      return next();
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}

test("a semaphore-guarded USDT probe fires while attached; its semaphore rises and falls", async () => {
  const { pie } = buildWorkload();
  const opened = ElfFile.open(pie);
  if (!opened.ok) throw new Error(opened.message);
  const probes = readUsdtProbes(opened.value);
  opened.value.close();
  if (!probes.ok) throw new Error(probes.message);
  const guarded = probes.value.find((p) => p.name === "guarded")!;
  assert.ok(guarded.semaphoreOffset > 0);
  if (!guarded.arguments.ok) throw new Error(guarded.arguments.message);
  const location = guarded.arguments.value[0].location;
  assert.is(location.kind, "register", guarded.argumentText);
  const register = location.kind === "register" ? location.register : ARGUMENT_REGISTERS[0];
  const running = await serve(pie);
  const counter = new Counter(register.ptRegsOffset);
  try {
    assert.is(await running.batch(2), "iterations=2 sum=211 enabled=0 lib_enabled=0");
    const link = attachUprobe(counter.prog, {
      path: pie,
      fileOffset: guarded.fileOffset,
      refCtrOffset: guarded.semaphoreOffset,
    });
    try {
      // Raised in the running process and in one started after the attach.
      assert.is(await running.batch(3), "iterations=3 sum=318 enabled=1 lib_enabled=0");
      assert.match(runWorkload(pie, 4), / enabled=1 /);
      assert.equal(counter.read(), { hits: 7n, sum: BigInt(sumTo(3) + sumTo(4)) });
    } finally {
      link.close();
    }
    assert.is(await running.batch(1), "iterations=1 sum=105 enabled=0 lib_enabled=0");
    assert.match(runWorkload(pie, 1), / enabled=0 /);
    assert.is(counter.read().hits, 7n, "no hit once detached");
  } finally {
    running.close();
    counter.close();
  }
});

test("a probe with two sites (inlined twice): attaching every site sees both", () => {
  const { pie } = buildWorkload();
  const target = resolveUserProbe("usdt", pie, "ltsh:tick");
  if (!target.ok) throw new Error(target.message);
  assert.is(target.value.sites.length, 2);
  const counter = new Counter(ARGUMENT_REGISTERS[0].ptRegsOffset);
  const links = target.value.sites.map((site) =>
    attachUprobe(counter.prog, { path: target.value.path, fileOffset: site.fileOffset }),
  );
  try {
    runWorkload(pie, 6);
    assert.is(counter.read().hits, 12n, "6 iterations, each through both sites");
  } finally {
    for (const link of links) link.close();
    counter.close();
  }
});

test("a guarded USDT probe in a shared library: its semaphore, in the library's file", async () => {
  const { pie, library } = buildWorkload();
  const target = resolveUserProbe("usdt", library, "ltshlib:call");
  if (!target.ok) throw new Error(target.message);
  const [site] = target.value.sites;
  assert.ok(site.refCtrOffset > 0);
  const running = await serve(pie);
  const counter = new Counter(ARGUMENT_REGISTERS[0].ptRegsOffset);
  try {
    assert.match(await running.batch(1), / lib_enabled=0$/);
    const link = attachUprobe(counter.prog, {
      path: target.value.path,
      fileOffset: site.fileOffset,
      refCtrOffset: site.refCtrOffset,
    });
    try {
      assert.is(await running.batch(5), "iterations=5 sum=535 enabled=0 lib_enabled=1");
      assert.is(counter.read().hits, 5n);
    } finally {
      link.close();
    }
    assert.match(await running.batch(1), / lib_enabled=0$/);
  } finally {
    running.close();
    counter.close();
  }
});

test("a libc function by library name: getppid, counted for the workload's pid only", async () => {
  const { pie } = buildWorkload();
  const libc = resolveBinary("libc");
  if (!libc.ok) throw new Error(libc.message);
  const running = await serve(pie);
  const counter = new Counter(ARGUMENT_REGISTERS[0].ptRegsOffset, running.pid);
  const link = attachUprobe(counter.prog, {
    path: libc.value,
    fileOffset: fileOffsetOf(libc.value, "getppid"),
  });
  try {
    await running.batch(9);
    assert.is(counter.read().hits, 9n);
  } finally {
    link.close();
    running.close();
    counter.close();
  }
});

test("an offset past the end of the file is refused with a hint", () => {
  const { pie } = buildWorkload();
  const counter = new Counter(0);
  try {
    assert.throws(
      () => attachUprobe(counter.prog, { path: pie, fileOffset: 1 << 30 }),
      (e: Error) => /uprobe .*:0x40000000: .*EINVAL.*start of an instruction/.test(e.message),
    );
  } finally {
    counter.close();
  }
});

test("a missing binary is a KernelError naming it", () => {
  const counter = new Counter(0);
  try {
    assert.throws(
      () => attachUprobe(counter.prog, { path: "/no/such/ltsh-binary", fileOffset: 0x1000 }),
      (e: Error) => /uprobe \/no\/such\/ltsh-binary:0x1000.*does not exist/.test(e.message),
    );
  } finally {
    counter.close();
  }
});

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe", skip);
else test.run();
