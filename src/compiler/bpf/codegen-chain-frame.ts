// What every program of a chain tracker works with: the tracker's maps (by ref), the stack
// slots each program has, the task a stage names, and the event's fields.

import type { ProbePlan } from "../plan.ts";
import type { ProgramContext } from "./codegen-program.ts";
import { loadMem, R6, type Register } from "./insn.ts";

/** The maps of a chain tracker, by the refs its programs use. */
export interface ChainMaps {
  /** The token table: its holders (buckets of keys), and its slots' tokens. */
  tokens: string;
  tokenSlots: string;
  chains: string;
  cpu: string;
  scratch: string;
  segments: string;
  /** `->` hand-offs: (step index, key values) → token. */
  handoffs: string;
  /** Per CPU (an ARRAY read across CPUs): the task running there, and the switch steps its switch-in met. */
  running: string;
}

/** Stack slots every chain program has. */
export interface ChainSlots {
  now: number;
  cpu: number;
  holder: number;
  other: number;
  chainId: number;
  /** Where slots.chainId's slot is in the chain table: its bucket (the array's key) and way. */
  chainBucket: number;
  chainWay: number;
  zero: number;
  /** The scope depth at currentHolder() (0: task context). */
  depth: number;
  /** A woken task found running: its CPU, and the switch steps its switch-in met. */
  runCpu: number;
  runFlags: number;
  /** appendStage's detail while the clock is read. */
  detail: number;
  /** The current task's tid (set by currentHolder in task context). */
  tid: number;
  /** sched_switch: 1 when the task switched in holds a token. */
  nextHolds: number;
  /** The key of this CPU's IRQ tail (grammar/README.md "Chains"). */
  tail: number;
}

/** The stage's task: the current one, or a task named by a u32 field of the event. */
export type StageTask =
  | { kind: "current" }
  | { kind: "field"; tid: number; comm: number; cpuSlot?: number };

/** A field of the event by name (its offset and size in the tracepoint record). */
export function field(probe: ProbePlan, name: string): { offset: number; size: number } {
  const f = probe.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`${probe.id} has no field ${name}`);
  return f;
}

/** r = a u32 field of the event. */
export function loadField(c: ProgramContext, r: Register, probe: ProbePlan, name: string): void {
  c.em.emit(loadMem(r, R6, field(probe, name).offset, 4));
}
