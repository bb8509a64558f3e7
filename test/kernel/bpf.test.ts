// Loads hand-encoded programs into the running kernel: the trivial program, a verifier
// refusal, a sched_switch counter attached through perf, and map element operations.

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BpfMapType,
  BpfProgType,
  closeFd,
  createMap,
  loadProgram,
  mapDelete,
  mapEntries,
  mapLookup,
  mapNextKey,
  mapUpdate,
  objectId,
  openRawTracepoint,
  percpuValueSize,
  possibleCpus,
} from "../../src/kernel/bpf.ts";
import { KernelError, VerifierError } from "../../src/kernel/errors.ts";
import { attachTracepoint, detachAll } from "../../src/kernel/perf.ts";
import { asm, Helper, kernelSkipReason, program, reportSkip, tracepointId } from "./support.ts";

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array, off = 0) =>
  new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

function bpftoolProgNames(): string {
  const r = spawnSync("bpftool", ["prog", "show"], { encoding: "utf8" });
  return r.stdout ?? "";
}

test("the trivial program r0 = 0; exit loads and gets a kernel id", () => {
  const fd = loadProgram({
    name: "ltsh_trivial",
    type: BpfProgType.TRACEPOINT,
    insns: program(asm.movImm(0, 0), asm.exit()),
    license: "GPL",
  });
  try {
    assert.ok(fd > 2);
    assert.ok(objectId(fd) > 0);
  } finally {
    closeFd(fd);
  }
});

test("a refused program raises VerifierError with the verifier's log", () => {
  try {
    // exit without setting r0: "R0 !read_ok"
    loadProgram({
      name: "ltsh_bad",
      type: BpfProgType.TRACEPOINT,
      insns: program(asm.exit()),
      license: "GPL",
    });
    assert.unreachable("the verifier should refuse a program that never sets r0");
  } catch (e) {
    assert.instance(e, VerifierError);
    const err = e as VerifierError;
    assert.match(err.log, /R0 !read_ok/);
    assert.match(err.message, /ltsh_bad/);
  }
});

test("a sched_switch program counts context switches into an array map", async () => {
  const counter = counterMap("ltsh_count");
  const prog = counting("ltsh_switches", BpfProgType.TRACEPOINT, counter);
  const link = attachTracepoint(prog, tracepointId("sched:sched_switch"));
  try {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
    const value = mapLookup(counter, u32(0), 8);
    assert.ok(value !== null);
    assert.ok(readU64(value) > 0n, "sleeping switches the task out, so the counter moves");
  } finally {
    link.close();
    closeFd(prog);
    closeFd(counter);
  }
});

test("a raw tracepoint program on sched_switch counts switches; closing its link stops it", async () => {
  const counter = counterMap("ltsh_count_raw");
  const prog = counting("ltsh_raw_switch", BpfProgType.RAW_TRACEPOINT, counter);
  const count = () => readU64(mapLookup(counter, u32(0), 8) ?? u64(0n));
  try {
    const link = openRawTracepoint("sched_switch", prog);
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
    closeFd(link);
    const seen = count();
    assert.ok(seen > 0n, "sleeping switches the task out, so the counter moves");
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
    assert.is(count(), seen, "detached: the counter stays");
    assert.throws(
      () => openRawTracepoint("no_such_tracepoint", prog),
      (e: unknown) =>
        e instanceof KernelError && /raw tracepoint no_such_tracepoint/.test(String(e)),
    );
  } finally {
    closeFd(prog);
    closeFd(counter);
  }
});

test("detachAll detaches every attachment: the counter stops moving", async () => {
  const counter = counterMap("ltsh_count2");
  const prog = counting("ltsh_detach", BpfProgType.TRACEPOINT, counter);
  const count = () => readU64(mapLookup(counter, u32(0), 8)!);
  try {
    const links = ["sched:sched_switch", "sched:sched_wakeup"].map((tp) =>
      attachTracepoint(prog, tracepointId(tp)),
    );
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 2));
    assert.ok(count() > 0n);
    await detachAll(links);
    const after = count();
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 2));
    assert.is(count(), after, "no program runs once detachAll has resolved");
    for (const l of links) l.close(); // idempotent
  } finally {
    closeFd(prog);
    closeFd(counter);
  }
});

/** key = 0; v = lookup(map, &key); if (v) *v += 1 atomically; return 0 */
/** A one-word ARRAY map that a counting program adds 1 to. */
function counterMap(name: string): number {
  return createMap({ name, type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
}

/** A program of `type` that counts its runs into `counter`. */
function counting(name: string, type: number, counter: number): number {
  return loadProgram({ name, type, insns: countInto(counter), license: "GPL" });
}

function countInto(mapFd: number): Uint8Array {
  return program(
    asm.storeImmW(10, -4, 0),
    asm.movReg(2, 10),
    asm.addImm(2, -4),
    asm.loadMapFd(1, mapFd),
    asm.call(Helper.mapLookupElem),
    asm.jeqImm(0, 0, 2),
    asm.movImm(1, 1),
    asm.atomicAddDw(0, 0, 1),
    asm.movImm(0, 0),
    asm.exit(),
  );
}

test("hash map update, lookup, delete and next-key iteration", () => {
  const fd = createMap({
    name: "ltsh_pending",
    type: BpfMapType.HASH,
    keySize: 8,
    valueSize: 8,
    maxEntries: 16,
  });
  try {
    for (const k of [3n, 1n, 2n]) mapUpdate(fd, u64(k), u64(k * 100n));
    assert.is(readU64(mapLookup(fd, u64(2n), 8)!), 200n);
    assert.is(mapLookup(fd, u64(9n), 8), null);
    const keys: bigint[] = [];
    for (let k = mapNextKey(fd, null, 8); k !== null; k = mapNextKey(fd, k, 8))
      keys.push(readU64(k));
    assert.equal(keys.sort(), [1n, 2n, 3n]);
    assert.is(mapDelete(fd, u64(1n)), true);
    assert.is(mapDelete(fd, u64(1n)), false);
    assert.is(mapLookup(fd, u64(1n), 8), null);
  } finally {
    closeFd(fd);
  }
});

test("mapEntries reads a whole hash map in batches, keys matched to their values", () => {
  const fd = createMap({
    name: "ltsh_batch",
    type: BpfMapType.HASH,
    keySize: 8,
    valueSize: 40,
    maxEntries: 4096,
  });
  try {
    assert.equal(mapEntries(fd, 8, 40), [], "an empty map has no entries");
    const value = (k: bigint) => {
      const v = new Uint8Array(40);
      new DataView(v.buffer).setBigUint64(32, k * 7n, true);
      return v;
    };
    for (let k = 1n; k <= 1000n; k++) mapUpdate(fd, u64(k), value(k)); // more than one batch
    const entries = mapEntries(fd, 8, 40);
    assert.is(entries.length, 1000);
    const keys = entries.map((e) => readU64(e.key));
    assert.is(new Set(keys).size, 1000);
    assert.ok(entries.every((e) => readU64(e.value, 32) === readU64(e.key) * 7n));
  } finally {
    closeFd(fd);
  }
});

test("mapEntries of a per-CPU array gives every index with all CPUs' slots", () => {
  const size = percpuValueSize(8);
  const fd = createMap({
    name: "ltsh_pcpu",
    type: BpfMapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: 3,
  });
  try {
    const value = new Uint8Array(size).fill(1);
    mapUpdate(fd, u32(1), value);
    const entries = mapEntries(fd, 4, size);
    assert.is(entries.length, 3);
    assert.equal([...entries[1].value], [...value]);
    assert.ok(entries[0].value.every((b) => b === 0));
  } finally {
    closeFd(fd);
  }
});

test("per-CPU array values come back one 8-byte slot per possible CPU", () => {
  const cpus = possibleCpus();
  assert.ok(cpus >= 1);
  const size = percpuValueSize(4);
  assert.is(size, 8 * cpus);
  const fd = createMap({
    name: "ltsh_hist",
    type: BpfMapType.PERCPU_ARRAY,
    keySize: 4,
    valueSize: 4,
    maxEntries: 4,
  });
  try {
    const value = new Uint8Array(size);
    const dv = new DataView(value.buffer);
    for (let cpu = 0; cpu < cpus; cpu++) dv.setUint32(cpu * 8, 10 + cpu, true);
    mapUpdate(fd, u32(2), value);
    const back = mapLookup(fd, u32(2), size)!;
    const got = [...Array(cpus).keys()].map((cpu) =>
      new DataView(back.buffer).getUint32(cpu * 8, true),
    );
    assert.equal(
      got,
      [...Array(cpus).keys()].map((cpu) => 10 + cpu),
    );
  } finally {
    closeFd(fd);
  }
});

test("a map too big for the kernel names its capacity", () => {
  try {
    const fd = createMap({
      name: "ltsh_huge",
      type: BpfMapType.ARRAY,
      keySize: 4,
      valueSize: 1 << 20,
      maxEntries: 1 << 20,
    });
    closeFd(fd);
    assert.unreachable("a 1 TiB array cannot be created");
  } catch (e) {
    assert.instance(e, KernelError);
    assert.match((e as KernelError).message, /capacity 1048576 entries/);
  }
});

test("closing the program fd unloads it (no pinning)", () => {
  const fd = loadProgram({
    name: "ltsh_gone",
    type: BpfProgType.TRACEPOINT,
    insns: program(asm.movImm(0, 0), asm.exit()),
    license: "GPL",
  });
  const id = objectId(fd);
  closeFd(fd);
  const r = spawnSync("bpftool", ["prog", "show", "id", String(id)], { encoding: "utf8" });
  if (r.error) return; // bpftool missing: the SIGKILL test states it
  assert.not.match(bpftoolProgNames(), new RegExp(`^${id}:`, "m"));
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/bpf", skip);
else test.run();
