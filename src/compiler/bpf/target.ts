// `ltsh compile FILE.lt --target ebpf`: every program of every tracker as an annotated
// disassembly (each instruction with the `.lt` text it came from), then the maps.

import type { FilePlan } from "../plan.ts";
import type { Target } from "../targets.ts";
import { kernelTaskOffsets } from "./btf.ts";
import {
  type BpfMapSpec,
  type BpfProgram,
  type CodegenOptions,
  generateTrackers,
} from "./codegen.ts";
import { disassemble } from "./disasm.ts";
import { mapTypeNames } from "./helpers.ts";

function describeMap(m: BpfMapSpec): string {
  const type = mapTypeNames[m.type] ?? `type ${m.type}`;
  const shape =
    m.type === 27
      ? `${m.maxEntries} bytes`
      : `key ${m.keySize} B, value ${m.valueSize} B, ${m.maxEntries} entries`;
  return `  ${m.name.padEnd(16)} ${type.padEnd(13)} ${shape}  (${m.ref})`;
}

/** The listing of a whole file's BPF output (by default, as this kernel would load it). */
export function ebpfListing(
  plan: FilePlan,
  options: CodegenOptions = { task: kernelTaskOffsets() },
): string {
  const { ringbuf, trackers } = generateTrackers(plan, options);
  const out: string[] = [];
  for (const t of trackers) {
    out.push(`# tracker ${t.layout.plan.name}`);
    for (const p of t.programs) {
      const slots = p.program.slotCount;
      const roles = (p.parts ?? [p]).map((part) => part.role).join(", then ");
      out.push("", `${p.name}: ${roles} on ${p.probe.id} (${attachedAt(p)}), ${slots} insns`);
      out.push(disassemble(p.program));
    }
    out.push("", "maps:", ...t.maps.map(describeMap), "");
  }
  out.push("shared:", describeMap(ringbuf), "");
  return out.join("\n");
}

/** "tracepoint id 316", or a user-space probe site's file offset and semaphore. */
function attachedAt(p: BpfProgram): string {
  const user = p.probe.user;
  if (user === undefined) return `tracepoint id ${p.probe.eventId}`;
  const site = user.sites[p.site ?? 0];
  const hex = (n: number) => `0x${n.toString(16)}`;
  const semaphore = site.refCtrOffset !== 0 ? `, semaphore at ${hex(site.refCtrOffset)}` : "";
  return `site ${p.site ?? 0}: file offset ${hex(site.fileOffset)}${semaphore}`;
}

export const ebpfTarget: Target = {
  name: "ebpf",
  summary: "BPF tracepoint programs for the live backend, as annotated disassembly",
  async emit(plan) {
    return { text: ebpfListing(plan), files: [] };
  },
};
