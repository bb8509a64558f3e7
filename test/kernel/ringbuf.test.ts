// The ring buffer consumer against real BPF producers: bpf_ringbuf_output and
// reserve+submit records from a syscall tracepoint arrive complete and in order.

import { spawnSync } from "node:child_process";
import { closeSync } from "node:fs";
import koffi from "koffi";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BpfMapType, BpfProgType, closeFd, createMap, loadProgram } from "../../src/kernel/bpf.ts";
import { KernelError } from "../../src/kernel/errors.ts";
import { NativeMemory } from "../../src/kernel/libc.ts";
import { attachTracepoint } from "../../src/kernel/perf.ts";
import { RingBufferReader } from "../../src/kernel/ringbuf.ts";
import { asm, Helper, kernelSkipReason, program, reportSkip, tracepointId } from "./support.ts";

const RING_SIZE = 64 * 1024;
const FIRST_FD = 1_000_000; // close() of these fails with EBADF, but the tracepoint fires

/** On sys_enter_close(fd >= FIRST_FD): output {pid_tgid, fd} with bpf_ringbuf_output. */
function outputProgram(ringFd: number): Uint8Array {
  return program(
    asm.loadDw(7, 1, 16), // fd at offset 16 of the sys_enter_close record
    asm.jltImm(7, FIRST_FD, 10),
    asm.storeDw(10, -8, 7),
    asm.call(Helper.getCurrentPidTgid),
    asm.storeDw(10, -16, 0),
    asm.loadMapFd(1, ringFd),
    asm.movReg(2, 10),
    asm.addImm(2, -16),
    asm.movImm(3, 16),
    asm.movImm(4, 0),
    asm.call(Helper.ringbufOutput),
    asm.movImm(0, 0),
    asm.exit(),
  );
}

/** The same record written in place with bpf_ringbuf_reserve + bpf_ringbuf_submit. */
function reserveProgram(ringFd: number): Uint8Array {
  return program(
    asm.loadDw(7, 1, 16),
    asm.jltImm(7, FIRST_FD, 13),
    asm.loadMapFd(1, ringFd),
    asm.movImm(2, 16),
    asm.movImm(3, 0),
    asm.call(Helper.ringbufReserve),
    asm.jeqImm(0, 0, 7),
    asm.movReg(6, 0),
    asm.storeDw(6, 8, 7),
    asm.call(Helper.getCurrentPidTgid),
    asm.storeDw(6, 0, 0),
    asm.movReg(1, 6),
    asm.movImm(2, 0),
    asm.call(Helper.ringbufSubmit),
    asm.movImm(0, 0),
    asm.exit(),
  );
}

interface Rec {
  tgid: number;
  fd: number;
}

function decode(data: Uint8Array): Rec {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { tgid: Number(dv.getBigUint64(0, true) >> 32n), fd: Number(dv.getBigUint64(8, true)) };
}

function closeMany(count: number): void {
  for (let i = 0; i < count; i++) {
    try {
      closeSync(FIRST_FD + i);
    } catch {
      // EBADF is the point: only the tracepoint matters
    }
  }
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

async function roundTrip(
  makeProgram: (ringFd: number) => Uint8Array,
  name: string,
  wake: "loop" | "worker" = "loop",
) {
  const ring = createMap({
    name: "ltsh_hits",
    type: BpfMapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: RING_SIZE,
  });
  const prog = loadProgram({
    name,
    type: BpfProgType.TRACEPOINT,
    insns: makeProgram(ring),
    license: "GPL",
  });
  const link = attachTracepoint(prog, tracepointId("syscalls:sys_enter_close"));
  const reader = new RingBufferReader(ring, RING_SIZE, { wake });
  const got: Rec[] = [];
  reader.start((data) => {
    const rec = decode(data);
    if (rec.tgid === process.pid) got.push(rec);
  });
  try {
    closeMany(100);
    await until(() => got.length >= 100);
  } finally {
    link.close();
    await reader.close();
    closeFd(prog);
    closeFd(ring);
  }
  return got;
}

for (const wake of ["loop", "worker"] as const) {
  test(`records from bpf_ringbuf_output arrive complete and in order (epoll on the ${wake})`, async () => {
    const got = await roundTrip(outputProgram, "ltsh_rb_output", wake);
    assert.equal(
      got.map((r) => r.fd),
      [...Array(100).keys()].map((i) => FIRST_FD + i),
    );
  });
}

test("records from reserve + submit arrive complete and in order", async () => {
  const got = await roundTrip(reserveProgram, "ltsh_rb_reserve");
  assert.is(got.length, 100);
  assert.ok(got.every((r, i) => r.fd === FIRST_FD + i && r.tgid === process.pid));
});

test("more records than fit wrap around the ring; drain() at close delivers the rest", async () => {
  const size = 4096; // one page: 170 records of 24 bytes wrap it many times
  const ring = createMap({
    name: "ltsh_small",
    type: BpfMapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: size,
  });
  const prog = loadProgram({
    name: "ltsh_rb_wrap",
    type: BpfProgType.TRACEPOINT,
    insns: outputProgram(ring),
    license: "GPL",
  });
  const link = attachTracepoint(prog, tracepointId("syscalls:sys_enter_close"));
  const reader = new RingBufferReader(ring, size);
  const fds: number[] = [];
  reader.start((data) => {
    const rec = decode(data);
    if (rec.tgid === process.pid) fds.push(rec.fd);
  });
  try {
    // 100 at a time (2400 bytes) fits; the reader empties the ring between bursts.
    for (let burst = 0; burst < 5; burst++) {
      closeMany(100);
      const want = (burst + 1) * 100;
      await until(() => fds.length >= want);
    }
    closeMany(50);
  } finally {
    link.close();
    await reader.close(); // the last 50 were not waited for: drain() delivers them
    closeFd(prog);
    closeFd(ring);
  }
  assert.is(fds.length, 550);
  assert.equal(fds.slice(500, 503), [FIRST_FD, FIRST_FD + 1, FIRST_FD + 2]);
});

test("close() from inside onRecord finishes the drain first, then unmaps", async () => {
  const ring = createMap({
    name: "ltsh_reent",
    type: BpfMapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: RING_SIZE,
  });
  const prog = loadProgram({
    name: "ltsh_rb_reent",
    type: BpfProgType.TRACEPOINT,
    insns: outputProgram(ring),
    license: "GPL",
  });
  const link = attachTracepoint(prog, tracepointId("syscalls:sys_enter_close"));
  const reader = new RingBufferReader(ring, RING_SIZE);
  const fds: number[] = [];
  let closing: Promise<void> | null = null;
  try {
    closeMany(20); // all in the ring before the reader starts: one drain delivers them
    reader.start((data) => {
      const rec = decode(data);
      if (rec.tgid !== process.pid) return;
      fds.push(rec.fd);
      reader.drain(); // re-entrant drain: must not deliver this record twice
      closing ??= reader.close();
    });
    await closing;
  } finally {
    link.close();
    await reader.close();
    closeFd(prog);
    closeFd(ring);
  }
  assert.equal(
    fds,
    [...Array(20).keys()].map((i) => FIRST_FD + i),
  );
});

test("an idle reader sleeps in epoll: no CPU spent while nothing arrives", async () => {
  const ring = createMap({
    name: "ltsh_idle",
    type: BpfMapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: 4096,
  });
  const readers = [
    new RingBufferReader(ring, 4096),
    new RingBufferReader(ring, 4096, { wake: "worker" }),
  ];
  try {
    for (const r of readers) r.start(() => {});
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 300));
    const used = process.cpuUsage(before);
    assert.ok(
      used.user + used.system < 30_000,
      `${used.user + used.system} µs of CPU in 300 ms idle`,
    );
  } finally {
    for (const r of readers) await r.close();
    closeFd(ring);
  }
});

test("a map that is not a ring buffer is refused with a KernelError", () => {
  const fd = createMap({
    name: "ltsh_notring",
    type: BpfMapType.ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: 1,
  });
  try {
    assert.throws(
      () => new RingBufferReader(fd, 4096),
      (e: unknown) => e instanceof KernelError && /mmap ring buffer/.test(e.message),
    );
  } finally {
    closeFd(fd);
  }
});

test("a reader never closed does not keep the process from exiting (worker-thread mode)", () => {
  const fixture = new URL("./fixtures/unclosed-reader.ts", import.meta.url).pathname;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", fixture], { timeout: 5000 });
  assert.is(r.status, 0, `exit status ${r.status} (${r.signal ?? "no signal"})`);
  assert.ok(Date.now() - t0 < 4000);
});

test("native memory views alias the C memory (koffi.view does not copy)", () => {
  const mem = NativeMemory.alloc(16);
  try {
    mem.bytes[3] = 0x5a;
    assert.is(koffi.decode(mem.ptr, 3, "uint8"), 0x5a);
    koffi.encode(mem.ptr, 5, "uint8", 0x33);
    assert.is(mem.bytes[5], 0x33);
  } finally {
    mem.free();
  }
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/ringbuf", skip);
else test.run();
