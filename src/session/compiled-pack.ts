// How the compiled cache stores artifacts. Generated programs (ebpf): each instruction a
// short array, its `.lt` annotation an index into one table per program, about 4× smaller
// than the objects as JSON, which matters because a repeat run hashes and parses the entry
// while V8 has not optimised anything yet. Built modules (kmod): as they are, usable while
// their file is still in the build cache.

import type { Assembled } from "../compiler/bpf/asm.ts";
import { type Insn, type Register, slotCount } from "../compiler/bpf/insn.ts";
import { type BpfProgram, sidesOf, type TrackerObject } from "../compiler/bpf/object.ts";
import type { KmodArtifact } from "./kmod.ts";
import type { LiveArtifact } from "./live.ts";
import type { Artifact } from "./types.ts";

/** opcode, dst, src, offset, imm, index into `sources` (-1: none), then the rare fields. */
type PackedInsn = [number, number, number, number, number, number, Rare?];

interface Rare {
  /** The 64-bit immediate, in decimal (JSON has no BigInt). */
  imm64?: string;
  target?: string;
  mapRef?: string;
  labels?: readonly string[];
}

interface PackedProgram extends Omit<BpfProgram, "program" | "probe"> {
  probe?: BpfProgram["probe"];
  sources: string[];
  insns: PackedInsn[];
}

export interface PackedTracker extends Omit<TrackerObject, "programs"> {
  programs: PackedProgram[];
}

export function packTracker(tracker: TrackerObject): PackedTracker {
  const programs = tracker.programs.map(({ program, probe, ...rest }) => {
    const sources: string[] = [];
    const index = new Map<string, number>();
    const insns = program.insns.map((i): PackedInsn => {
      let source = -1;
      if (i.source !== undefined) {
        source = index.get(i.source) ?? sources.push(i.source) - 1;
        index.set(i.source, source);
      }
      const packed: PackedInsn = [i.opcode, i.dst, i.src, i.offset, i.imm, source];
      const rare: Rare = {};
      if (i.imm64 !== undefined) rare.imm64 = i.imm64.toString();
      if (i.target !== undefined) rare.target = i.target;
      if (i.mapRef !== undefined) rare.mapRef = i.mapRef;
      if (i.labels !== undefined) rare.labels = i.labels;
      if (Object.keys(rare).length > 0) packed.push(rare);
      return packed;
    });
    // a chain program's probe may be a context event, not in the plan: kept as it is
    return { ...rest, ...(rest.role === "chain" ? { probe } : {}), sources, insns };
  });
  return { ...tracker, programs };
}

/** Back to what codegen made: instructions, slots, and probes shared with the plan. */
export function unpackTracker(packed: PackedTracker): TrackerObject {
  const plan = packed.layout.plan;
  const programs = packed.programs.map(({ sources, insns, ...rest }): BpfProgram => {
    const probe = rest.probe ?? sidesOf(plan, rest.role)[rest.alternative].probe;
    return { ...rest, probe, program: assembled(insns, sources) };
  });
  return { ...packed, programs };
}

function assembled(packed: PackedInsn[], sources: string[]): Assembled {
  const insns: Insn[] = [];
  const slots: number[] = [];
  let slot = 0;
  for (const [opcode, dst, src, offset, imm, source, rare] of packed) {
    const insn: Insn = { opcode, dst: dst as Register, src, offset, imm };
    if (source >= 0) insn.source = sources[source];
    if (rare?.imm64 !== undefined) insn.imm64 = BigInt(rare.imm64);
    if (rare?.target !== undefined) insn.target = rare.target;
    if (rare?.mapRef !== undefined) insn.mapRef = rare.mapRef;
    if (rare?.labels !== undefined) insn.labels = rare.labels;
    insns.push(insn);
    slots.push(slot);
    slot += slotCount(insn);
  }
  return { insns, slots, slotCount: slot };
}

/** An artifact as an entry holds it; plans travel inside (ebpf: in the layout). */
export type PackedArtifact =
  | { backend: "ebpf"; object: PackedTracker }
  | { backend: "kmod"; plan: Artifact["plan"]; module: string; ko: string };

/**
 * The artifact as the cache keeps it; null when it cannot be kept: a module built in a
 * directory of this process (no build cache) is gone after the run, and replay has nothing
 * to keep (its artifact is the plan).
 */
export function packArtifact(artifact: Artifact): PackedArtifact | null {
  if (artifact.backend === "ebpf") {
    return { backend: "ebpf", object: packTracker((artifact as LiveArtifact).object) };
  }
  if (artifact.backend === "kmod") {
    const { plan, module, ko, buildDir } = artifact as KmodArtifact;
    return buildDir === null ? { backend: "kmod", plan, module, ko } : null;
  }
  return null;
}

/** Back to what load() takes; `usable` tells whether a module file may still be loaded. */
export function unpackArtifact(
  packed: PackedArtifact,
  usable: (path: string) => boolean,
): Artifact | null {
  if (packed.backend === "ebpf") {
    const object = unpackTracker(packed.object);
    const artifact: LiveArtifact = { backend: "ebpf", plan: object.layout.plan, object };
    return artifact;
  }
  if (packed.backend === "kmod" && usable(packed.ko)) {
    const artifact: KmodArtifact = { ...packed, buildDir: null };
    return artifact;
  }
  return null;
}
