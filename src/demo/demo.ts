// What a demo is: the programs it needs, its tracker files, and how it starts its workload
// and toggles its fault. src/demo/run-demo.ts runs any of them the same way.

import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { DemoProcesses } from "./processes.ts";
import type { Needed } from "./requirements.ts";

export interface Demo {
  name: string;
  /** One line for `ltsh demo`. */
  summary: string;
  needs: Needed[];
  /**
   * examples/demos files: the chain when the live backend accepts it, else the fallback;
   * `show`: the tracker (in both) whose worst snapshot `s` opens.
   */
  trackers: { chain?: string; fallback: string; show: string };
  start(processes: DemoProcesses, cpus: DemoCpus): Promise<RunningDemo>;
}

export interface RunningDemo {
  /** What runs and what to watch (the narration adds the fault's state and the trackers). */
  story: string[];
  /** The fault, one line: what it is and what it stands for. */
  fault: string;
  /** What the worst hit's snapshot shows (the intruder, by the name it has on screen). */
  snapshot: string;
  setFault(on: boolean): void;
  /** Live lines (the jack demo's xrun count); called when onChange fires. */
  status?(): string[];
  onChange?(listener: () => void): void;
  /** Why the workload stopped, once it did (jackd exited); null while it runs. */
  failure(): string | null;
}

export const DEMOS_DIR = fileURLToPath(new URL("../../examples/demos/", import.meta.url));
export const WORKLOADS_DIR = fileURLToPath(new URL("./workloads/", import.meta.url));

/** Where a demo's processes run: the workload and its fault share one CPU, the client another. */
export interface DemoCpus {
  workload: number;
  client: number;
}

/**
 * The workload's CPU: `requested` (`ltsh demo --cpu N`), else the last one (CPU 0 takes most
 * housekeeping); the client's: another one, when there is one.
 */
export function demoCpus(requested?: number): DemoCpus {
  const workload = requested ?? availableParallelism() - 1;
  const client = availableParallelism() === 1 ? workload : workload === 0 ? 1 : 0;
  return { workload, client };
}

/** A Node.js script of ./workloads, pinned to `cpu`, with its arguments. */
export function nodeScript(cpu: number, script: string, ...args: (string | number)[]): string[] {
  return [
    "taskset",
    "-c",
    String(cpu),
    process.execPath,
    WORKLOADS_DIR + script,
    ...args.map(String),
  ];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
