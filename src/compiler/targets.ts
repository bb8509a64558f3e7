// The registry of `ltsh compile --target` emitters. Each backend adds one import and one
// entry to `targets`; `--emit plan` is the TrackerPlan itself and needs no entry.

import { ebpfTarget } from "./bpf/target.ts";
import { kmodTarget } from "./kmod/target.ts";
import type { FilePlan } from "./plan.ts";

export interface EmitOptions {
  /** `-o DIR` for targets that write files (kmod); undefined: print to stdout. */
  outDir?: string;
}

export interface EmitResult {
  /** Text for stdout (a disassembly, a listing of written files). */
  text: string;
  /** Files written, when the target writes files. */
  files: string[];
}

export interface Target {
  name: string;
  summary: string;
  emit(plan: FilePlan, options: EmitOptions): Promise<EmitResult>;
}

export const targets: Target[] = [ebpfTarget, kmodTarget];

export function findTarget(name: string): Target | undefined {
  return targets.find((t) => t.name === name);
}
