// `ltsh demo NAME`: checks what the demo needs, kills what a crashed demo left, starts the
// workload in the background, picks the chain tracker when the live backend accepts it (else
// the plain fallback), and opens the shell with the narration above the tables, `f` to
// inject and remove the fault and `s` to open the worst hit's snapshot (:show NAME worst).
// Everything started is killed when the shell ends.

import { join } from "node:path";
import type { CatalogIndex } from "../compiler/catalog/index.ts";
import { compileFile } from "../compiler/compile.ts";
import { Narration } from "../repl/narration.ts";
import { DEMOS_DIR, type Demo, type DemoCpus, type RunningDemo } from "./demo.ts";
import { DemoProcesses, killStaleDemos } from "./processes.ts";
import { missingRequirements } from "./requirements.ts";

export interface TrackerChoice {
  file: string;
  chain: boolean;
  /** Why the chain was not taken (the checker's first error), when it was not. */
  reason?: string;
}

/** The chain file when the live backend's checker accepts it, otherwise the fallback. */
export function chooseTrackers(demo: Demo, catalog: CatalogIndex): TrackerChoice {
  const fallback = join(DEMOS_DIR, demo.trackers.fallback);
  if (!demo.trackers.chain) return { file: fallback, chain: false };
  const chain = join(DEMOS_DIR, demo.trackers.chain);
  const { plan, diagnostics } = compileFile(chain, { catalog, backend: "ebpf" });
  if (plan) return { file: chain, chain: true };
  const first = diagnostics.find((d) => d.severity === "error");
  return { file: fallback, chain: false, reason: first?.message };
}

export function trackerLine(demo: Demo, choice: TrackerChoice): string {
  const name = `examples/demos/${choice.chain ? demo.trackers.chain : demo.trackers.fallback}`;
  if (choice.chain) return `trackers: ${name} (the chain)`;
  if (!demo.trackers.chain) return `trackers: ${name}`;
  return `trackers: ${name}, the plain fallback: the live backend refused the chain here (${choice.reason})`;
}

/** The lines above the tables: the story, the fault's state, the trackers, live status. */
export function narrationLines(
  demo: Demo,
  running: RunningDemo,
  choice: TrackerChoice,
  faultOn: boolean,
): string[] {
  const state = faultOn
    ? `fault ON (f removes it): ${running.fault}`
    : `fault off (press f on an empty prompt to inject it): ${running.fault}`;
  return [
    `demo ${demo.name}: ${demo.summary}`,
    ...running.story,
    trackerLine(demo, choice),
    ...(running.status?.() ?? []),
    state,
    `${showLine(demo)}: ${running.snapshot}`,
  ];
}

/** The key that opens the worst hit's snapshot, and the command it runs. */
export const SHOW_KEY = "s";
export function showCommand(demo: Demo): string {
  return `:show ${demo.trackers.show} worst`;
}
function showLine(demo: Demo): string {
  return `${SHOW_KEY} = the worst hit's snapshot (${showCommand(demo)}), q back`;
}

/** What stops the demo from running here, one message each (empty: ready). */
export async function demoProblems(demo: Demo): Promise<string[]> {
  const { checkLivePermissions } = await import("../kernel/permissions.ts");
  const live = checkLivePermissions();
  const problems = missingRequirements(demo.name, demo.needs, live);
  if (live.ok && process.getuid?.() !== 0) {
    problems.push(
      `the ${demo.name} demo sets real-time priorities and CPUs: run it as root (sudo)`,
    );
  }
  return problems;
}

/**
 * Runs a demo whose demoProblems() are none, in the shell; returns the exit code. `version`:
 * ltsh's, for the shell (its :metrics build info); `cpus`: where its processes run.
 */
export async function runDemo(
  demo: Demo,
  catalog: CatalogIndex,
  version: string,
  cpus: DemoCpus,
): Promise<number> {
  for (const command of killStaleDemos()) {
    process.stderr.write(`ltsh: killed a crashed demo's process: ${command}\n`);
  }
  const choice = chooseTrackers(demo, catalog);
  const processes = new DemoProcesses();
  let running: RunningDemo;
  try {
    running = await demo.start(processes, cpus);
  } catch (error) {
    processes.stopAll();
    process.stderr.write(
      `ltsh: error: the ${demo.name} demo could not start: ${(error as Error).message}\n`,
    );
    return 1;
  }
  let faultOn = false;
  const narration = new Narration(narrationLines(demo, running, choice, faultOn));
  const redraw = () => narration.set(narrationLines(demo, running, choice, faultOn));
  running.onChange?.(redraw);
  const { runShell } = await import("../repl/run-shell.tsx");
  try {
    return await runShell({
      backend: "ebpf",
      catalog,
      version,
      file: choice.file,
      narration,
      promptKeys: {
        f: () => {
          faultOn = !faultOn;
          running.setFault(faultOn);
          redraw();
        },
        [SHOW_KEY]: (shell) => shell.run(showCommand(demo)),
      },
    });
  } finally {
    processes.stopAll();
  }
}
