// One tracker in the running kernel: its maps created, programs loaded (a verifier refusal
// reported with the disassembly and the `.lt` line), attached, read, swept for timeouts, closed.

import { encode } from "../compiler/bpf/asm.ts";
import type { BpfProgram, TrackerObject } from "../compiler/bpf/codegen.ts";
import { disassemble, insnAtSlot } from "../compiler/bpf/disasm.ts";
import { PROG_TYPE_TRACEPOINT } from "../compiler/bpf/helpers.ts";
import { Ctx, STACK_DEPTH, Stats } from "../compiler/bpf/layout.ts";
import {
  closeFd,
  createMap,
  loadProgram,
  mapDelete,
  mapLookup,
  mapNextKey,
  percpuValueSize,
  possibleCpus,
} from "../kernel/bpf.ts";
import { EAGAIN, VerifierError } from "../kernel/errors.ts";
import { type Attachment, attachTracepoint } from "../kernel/perf.ts";
import type { HitRecord } from "../records/types.ts";
import { decodeContext, decodeKey, decodeStats, type KernelCounters } from "./live-decode.ts";
import { type ClaimedBegin, DirectTable } from "./live-direct.ts";

const LOAD_ATTEMPTS = 5;

/** A refused load: a compiler bug, reported with everything needed to fix it. */
export class LiveLoadError extends Error {
  override name = "LiveLoadError";
}

export class LiveTracker {
  readonly fds = new Map<string, number>();
  private readonly programFds: number[] = [];
  private attachments: Attachment[] = [];
  /** Timeout hits found by the sweeper (the end program counts late ends itself). */
  sweptTimeouts = 0;
  /** The mmap-ed pending table, when the tracker uses the set-associative array (the default). */
  private direct: DirectTable | null = null;
  /** When the session sweeps this tracker next (performance.now() ms). */
  nextSweepMs = 0;
  running = false;
  private closed = false;

  constructor(
    readonly object: TrackerObject,
    ringbuf: { ref: string; fd: number },
  ) {
    this.fds.set(ringbuf.ref, ringbuf.fd);
  }

  get name(): string {
    return this.object.layout.plan.name;
  }

  /** Creates the maps, loads every program and attaches ends before begins. */
  start(): void {
    try {
      for (const spec of this.object.maps) this.fds.set(spec.ref, createMap(spec));
      const { direct, maps, key, pending } = this.object.layout;
      if (direct !== null) {
        this.direct = new DirectTable(this.fds.get(maps.pending)!, direct, key.size, pending.size);
      }
      for (const p of this.object.programs) this.programFds.push(this.load(p));
      this.object.programs.forEach((p, i) => {
        this.attachments.push(attachTracepoint(this.programFds[i], p.probe.eventId));
      });
      this.running = true;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  private load(p: BpfProgram): number {
    return loadTracepointProgram(p, this.fds);
  }

  /** Detaches the programs; the maps stay readable for the summary. */
  stop(): void {
    for (const a of this.attachments) a.close();
    this.attachments = [];
    this.running = false;
  }

  counters(): KernelCounters {
    const fd = this.fds.get(this.object.layout.maps.stats)!;
    const bytes = mapLookup(fd, new Uint8Array(4), percpuValueSize(Stats.size));
    return decodeStats(bytes ?? new Uint8Array(percpuValueSize(Stats.size)), possibleCpus());
  }

  private pendingCache = { count: 0, at: Number.NEGATIVE_INFINITY };

  /** Begins still pending: walks the map (a syscall per entry) unless the last count is younger than maxAgeMs. */
  pendingCount(maxAgeMs = 0): number {
    const now = performance.now();
    if (now - this.pendingCache.at < maxAgeMs) return this.pendingCache.count;
    if (this.direct !== null) {
      this.pendingCache = { count: this.direct.pendingCount(), at: now };
      return this.pendingCache.count;
    }
    const layout = this.object.layout;
    const fd = this.fds.get(layout.maps.pending)!;
    let n = 0;
    let key = mapNextKey(fd, null, layout.key.size);
    while (key !== null) {
      n++;
      key = mapNextKey(fd, key, layout.key.size);
    }
    this.pendingCache = { count: n, at: now };
    return n;
  }

  /**
   * Expires begins older than the timeout at `nowNs` (CLOCK_MONOTONIC). Cost: two bpf(2)
   * calls per pending begin (next key + lookup) plus one delete per expiry. Only the
   * deleter reports: an end racing the sweep either deletes first (a pair) or finds nothing.
   */
  sweep(nowNs: bigint): { hit: HitRecord; stackId: number }[] {
    const layout = this.object.layout;
    const timeout = layout.plan.timeoutNs;
    if (timeout === null || this.closed) return [];
    const expired =
      this.direct !== null
        ? this.direct.sweep(nowNs, BigInt(timeout), Ctx.ts)
        : this.sweepHash(nowNs, BigInt(timeout));
    this.sweptTimeouts += expired.length;
    return expired.map(({ key, value }) => {
      const begin = decodeContext(value, 0, layout.plan.begins);
      const view = new DataView(value.buffer, value.byteOffset);
      const stackId =
        layout.pending.stackId >= 0 ? Number(view.getBigInt64(layout.pending.stackId, true)) : -1;
      const hit: HitRecord = {
        type: "hit",
        tracker: layout.plan.name,
        kind: "timeout",
        latency_ns: Number(nowNs - begin.ts_ns),
        key: decodeKey(key, 0, layout),
        begin,
        end: null,
        snapshot: null,
        stack: null,
      };
      return { hit, stackId };
    });
  }

  /** The HASH table: walk the keys, then delete the expired ones (only the deleter reports). */
  private sweepHash(nowNs: bigint, timeout: bigint): ClaimedBegin[] {
    const layout = this.object.layout;
    const fd = this.fds.get(layout.maps.pending)!;
    const expired: ClaimedBegin[] = [];
    let key = mapNextKey(fd, null, layout.key.size);
    while (key !== null) {
      const value = mapLookup(fd, key, layout.pending.size);
      const ts = value && new DataView(value.buffer, value.byteOffset).getBigUint64(Ctx.ts, true);
      if (value !== null && ts !== null && nowNs - ts > timeout) expired.push({ key, value });
      key = mapNextKey(fd, key, layout.key.size);
    }
    return expired.filter((begin) => mapDelete(fd, begin.key));
  }

  /** Raw kernel addresses of a stack id (the walk stops at the first zero). */
  stackAddresses(stackId: number): bigint[] {
    const ref = this.object.layout.maps.stacks;
    if (ref === null || stackId < 0) return [];
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, stackId, true);
    const value = mapLookup(this.fds.get(ref)!, key, STACK_DEPTH * 8);
    if (value === null) return [];
    const v = new DataView(value.buffer, value.byteOffset);
    const out: bigint[] = [];
    for (let i = 0; i < STACK_DEPTH; i++) {
      const addr = v.getBigUint64(i * 8, true);
      if (addr === 0n) break;
      out.push(addr);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.direct?.close();
    for (const fd of this.programFds) closeFd(fd);
    for (const spec of this.object.maps) {
      const fd = this.fds.get(spec.ref);
      if (fd !== undefined) closeFd(fd);
    }
  }
}

/** Loads one program (map fds patched in); a refusal becomes a LiveLoadError with the report. */
export function loadTracepointProgram(p: BpfProgram, fds: ReadonlyMap<string, number>): number {
  const insns = encode(p.program, fds);
  for (let attempt = 1; ; attempt++) {
    try {
      return loadProgram({ name: p.name, type: PROG_TYPE_TRACEPOINT, insns, license: "GPL" });
    } catch (error) {
      // The verifier gives up with EAGAIN when a signal arrives meanwhile (a child's
      // SIGCHLD): not a refusal, so load again, as libbpf does.
      const interrupted = (error as { errno?: number }).errno === EAGAIN;
      if (interrupted && attempt < LOAD_ATTEMPTS) continue;
      if (error instanceof VerifierError) throw new LiveLoadError(verifierReport(p, error));
      throw error;
    }
  }
}
/** The verifier's complaint, the failing instruction in context and the `.lt` line it came from. */
export function verifierReport(p: BpfProgram, error: VerifierError): string {
  const log = error.log.trimEnd().split("\n");
  let failing: number | null = null;
  for (const line of log) {
    const m = /^(\d+): \(/.exec(line);
    if (m) failing = Number(m[1]);
  }
  const insn = failing !== null ? insnAtSlot(p.program, failing) : undefined;
  const listing = disassemble(p.program)
    .split("\n")
    .map((line) => {
      const m = /^\s*(\d+):/.exec(line);
      return m && Number(m[1]) === failing ? `>${line.slice(1)}` : line;
    });
  return [
    `the kernel verifier rejected ${p.name} (${p.role} of tracker ${p.tracker} on ${p.probe.id}, errno ${error.errno}):`,
    "this is a bug in ltsh's BPF compiler; please report it with this output.",
    ...(insn?.source ? [`failing instruction ${failing} comes from ${insn.source}`] : []),
    "verifier log (last lines):",
    ...log.slice(-8).map((l) => `  ${l}`),
    "program:",
    ...listing.map((l) => `  ${l}`),
  ].join("\n");
}
