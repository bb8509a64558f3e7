// One tracker in the running kernel: its maps created, programs loaded (a verifier refusal
// reported with the disassembly and the `.lt` line), attached, read, swept for timeouts, closed.

import { encode } from "../compiler/bpf/asm.ts";
import type { BpfProgram, TrackerObject } from "../compiler/bpf/codegen.ts";
import { disassemble, insnAtSlot } from "../compiler/bpf/disasm.ts";
import { Ctx, chainSegments, STACK_DEPTH, Stats } from "../compiler/bpf/layout.ts";
import { completeHit } from "../compiler/hit-captures.ts";
import {
  closeFd,
  createMap,
  loadProgram,
  mapLookup,
  percpuValueSize,
  possibleCpus,
  programRecursionMisses,
} from "../kernel/bpf.ts";
import { EAGAIN, VerifierError } from "../kernel/errors.ts";
import type { Attachment } from "../kernel/perf.ts";
import type { HitRecord } from "../records/types.ts";
import { attachOrder, attachProgram, programType } from "./live-attach.ts";
import { sweepChains } from "./live-chain.ts";
import { ChainTable } from "./live-chain-table.ts";
import {
  decodeCaptures,
  decodeContext,
  decodeKey,
  decodeStats,
  type KernelCounters,
} from "./live-decode.ts";
import { openPendingTable, type PendingTableReader } from "./live-pending-table.ts";
import { procComm } from "./task-names.ts";

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
  /** User space's view of the pending table (mmap-ed when set-associative), once started. */
  private table: PendingTableReader | null = null;
  /** A chain tracker's chain table (mmap-ed) instead, once started. */
  private chains: ChainTable | null = null;
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

  /**
   * Creates the maps and loads every program (the verifier's time); attaches nothing.
   * `between` runs after each program: a chain tracker's 30 take a few hundred ms to verify,
   * and the trackers already running fill the ring meanwhile unless it is drained.
   */
  load(between?: () => void): void {
    try {
      for (const spec of this.object.maps) this.fds.set(spec.ref, createMap(spec));
      const table = this.object.layout.table;
      const fd = this.fds.get(this.object.layout.maps.pending)!;
      if (table.kind === "chains") {
        const holders = this.fds.get(`${this.name}.tokens`)!;
        const tokens = this.fds.get(`${this.name}.tokenSlots`)!;
        this.chains = new ChainTable({ chains: fd, holders, tokens }, table);
      } else this.table = openPendingTable(this.object, fd);
      for (const p of this.object.programs) {
        this.programFds.push(this.loadProgram(p));
        between?.();
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Attaches the loaded programs, ends before begins and a chain's origin last. */
  attach(): void {
    try {
      for (const i of attachOrder(this.object.programs)) {
        this.attachments.push(attachProgram(this.programFds[i], this.object.programs[i]));
      }
      this.running = true;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  private loadProgram(p: BpfProgram): number {
    return loadTracepointProgram(p, this.fds);
  }

  /**
   * Detaches the programs, the last attached first; the maps stay readable for the summary.
   * `between` runs after each: a detach waits for the tracepoint's readers to finish (a
   * chain tracker's 30 took about a second here), and the session drains the ring meanwhile.
   */
  stop(between?: () => void): void {
    for (const a of [...this.attachments].reverse()) {
      a.close();
      between?.();
    }
    this.attachments = [];
    this.running = false;
  }

  counters(): KernelCounters {
    const fd = this.fds.get(this.object.layout.maps.stats)!;
    const bytes = mapLookup(fd, new Uint8Array(4), percpuValueSize(Stats.size));
    return decodeStats(bytes ?? new Uint8Array(percpuValueSize(Stats.size)), possibleCpus());
  }

  /**
   * A chain tracker's counters per segment (origin → … → target [→ block]); a chain of one
   * segment counts it as the pair only (src/compiler/bpf/codegen-chain-end.ts).
   */
  segmentCounters(): KernelCounters[] {
    const plan = this.object.layout.plan;
    if (!plan.chain) return [];
    const count = chainSegments(plan);
    if (count === 1) return [this.counters()];
    const fd = this.fds.get(`${this.name}.segments`)!;
    const size = percpuValueSize(Stats.size);
    return Array.from({ length: count }, (_, k) => {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, k, true);
      return decodeStats(mapLookup(fd, key, size) ?? new Uint8Array(size), possibleCpus());
    });
  }

  /** Events its programs never saw (the kernel's recursion misses; 0 before Linux 5.12). */
  missedEvents(): number {
    return this.programFds.reduce((n, fd) => n + (programRecursionMisses(fd) ?? 0), 0);
  }

  private pendingCache = { count: 0, at: Number.NEGATIVE_INFINITY };

  /** How old the last count of pending begins is, in milliseconds. */
  pendingAgeMs(): number {
    return performance.now() - this.pendingCache.at;
  }

  /** Begins still pending, unless the last count is younger than maxAgeMs (a HASH table walks the map). */
  pendingCount(maxAgeMs = 0): number {
    const now = performance.now();
    const reader = this.table ?? this.chains;
    if (now - this.pendingCache.at < maxAgeMs || reader === null) return this.pendingCache.count;
    this.pendingCache = { count: reader.pendingCount(), at: now };
    return this.pendingCache.count;
  }

  /**
   * Expires begins older than the timeout at `nowNs` (CLOCK_MONOTONIC). The sweep and the
   * end programs race for each begin through the table (a claim or a delete): one of them
   * reports it.
   */
  sweep(nowNs: bigint): { hit: HitRecord; stackId: number }[] {
    const layout = this.object.layout;
    const timeout = layout.plan.timeoutNs;
    if (timeout === null || this.closed) return [];
    if (this.chains !== null) {
      const hits = sweepChains(this.chains, layout, nowNs, BigInt(timeout));
      this.sweptTimeouts += hits.length;
      return hits.map((hit) => ({ hit, stackId: -1 }));
    }
    if (this.table === null) return [];
    const expired = this.table.sweep(nowNs, BigInt(timeout));
    this.sweptTimeouts += expired.length;
    const left = this.table.sweptPending;
    if (left !== null) this.pendingCache = { count: left, at: performance.now() };
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
      const plan = layout.plan;
      const capturesAt = layout.pending.captures ?? -1;
      if (!plan.keyTask && capturesAt < 0) return { hit, stackId };
      const alternative = view.getUint32(Ctx.probe, true);
      const captured = decodeCaptures(value, capturesAt, plan, "begins", alternative);
      return { hit: completeHit(plan, hit, captured, null, procComm), stackId };
    });
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
    this.table?.close();
    this.table = null;
    this.chains?.close();
    this.chains = null;
    for (const fd of this.programFds) closeFd(fd);
    this.programFds.length = 0;
    for (const spec of this.object.maps) {
      const fd = this.fds.get(spec.ref);
      if (fd !== undefined) closeFd(fd);
    }
  }
}

/**
 * Loads one program (map fds patched in), as a tracepoint or, at a user-space probe, a
 * kprobe program; a refusal becomes a LiveLoadError with the report.
 */
export function loadTracepointProgram(p: BpfProgram, fds: ReadonlyMap<string, number>): number {
  const insns = encode(p.program, fds);
  for (let attempt = 1; ; attempt++) {
    try {
      return loadProgram({ name: p.name, type: programType(p), insns, license: "GPL" });
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
    `the kernel verifier rejected ${p.name} (${(p.parts ?? [p]).map((x) => x.role).join(" + ")} of tracker ${p.tracker} on ${p.probe.id}, errno ${error.errno}):`,
    "this is a bug in ltsh's BPF compiler; please report it with this output.",
    ...(insn?.source ? [`failing instruction ${failing} comes from ${insn.source}`] : []),
    "verifier log (last lines):",
    ...log.slice(-8).map((l) => `  ${l}`),
    "program:",
    ...listing.map((l) => `  ${l}`),
  ].join("\n");
}
