// What BPF codegen produces for the live session: a tracker's programs, maps and layout, and
// the shared ring buffer. Kept apart from codegen.ts so that a session loading programs
// already generated (the compiled cache) does not load the code generator.

import type { MapSpec } from "../../kernel/bpf.ts";
import { BpfMapType } from "../../kernel/uapi-bpf.ts";
import type { ProbePlan, ProbeSide, TrackerPlan } from "../plan.ts";
import type { Assembled } from "./asm.ts";
import {
  type KeyLayout,
  type PendingLayout,
  type PendingTableLayout,
  RINGBUF_REF,
} from "./layout.ts";

/** A map to create (the kernel layer's MapSpec) and `ref`, the name programs use (ldMapFd). */
export interface BpfMapSpec extends MapSpec {
  ref: string;
}

/** "chain": a chain tracker's program on one tracepoint (codegen-chain.ts). */
export type ProgramRole = "begin" | "end" | "cancel" | "chain";

/** The plan's alternatives of a role (a program's probe is `sidesOf(...)[alternative]`). */
export function sidesOf(plan: TrackerPlan, role: ProgramRole): ProbeSide[] {
  if (role === "begin") return plan.begins;
  if (role === "end") return plan.ends;
  if (role === "cancel") return plan.cancels ?? [];
  return [];
}

export interface BpfProgram {
  /** Kernel name, "ltsh_..." ≤ 15 chars. */
  name: string;
  tracker: string;
  role: ProgramRole;
  /** Index into TrackerPlan.begins / .ends / .cancels. */
  alternative: number;
  /**
   * The sides one tracepoint program runs, in order (ends, cancels, begins), when it runs
   * more than one; `role` and `alternative` are the first's.
   */
  parts?: { role: ProgramRole; alternative: number }[];
  probe: ProbePlan;
  /** For a user-space probe: which of `probe.user.sites` it attaches to (one program each). */
  site?: number;
  /**
   * It runs a chain's origin: attached after the tracker's other programs and detached before
   * them, so that no chain starts while a rule that carries it is missing.
   */
  origin?: true;
  program: Assembled;
}

/** What the live session needs to know to read a tracker's maps and decode its hits. */
export interface TrackerLayout {
  plan: TrackerPlan;
  /** The tracker's tag in hit records (generated into its programs). */
  index: number;
  key: KeyLayout;
  pending: PendingLayout;
  /** Which pending table holds the begins (src/compiler/bpf/pending-table.ts), and its geometry. */
  table: PendingTableLayout;
  maps: { pending: string; stats: string; stacks: string | null };
}

export interface TrackerObject {
  layout: TrackerLayout;
  maps: BpfMapSpec[];
  programs: BpfProgram[];
}

export const DEFAULT_RINGBUF_SIZE = 256 * 1024;

/** The shared ring buffer: a power of two, at least one page (`set ringbuf.size = N`). */
export function ringbufSpec(size = DEFAULT_RINGBUF_SIZE): BpfMapSpec {
  let bytes = 4096;
  while (bytes < size) bytes *= 2;
  return {
    ref: RINGBUF_REF,
    name: "ltsh_hits",
    type: BpfMapType.RINGBUF,
    keySize: 0,
    valueSize: 0,
    maxEntries: bytes,
  };
}
