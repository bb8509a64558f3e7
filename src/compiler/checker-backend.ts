// What each backend runs, as one table, and the check that refuses the rest with a caret
// at `check`/`run` time instead of a failure at load time. Chains and `cancel` run in the
// replay reference interpreter first; eBPF and kmod follow (issue #10).

import type { CheckedTrack } from "./checker.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { MAX_CHAIN_STEPS } from "./plan.ts";

export type BackendName = "ebpf" | "kmod" | "replay";
/** "any": the language alone (`ltsh check`, `--emit plan`): no backend's limits apply. */
export type BackendChoice = BackendName | "any";

interface BackendCapabilities {
  /** The most steps a chain may have; 0: no chains on this backend yet. */
  maxChainSteps: number;
  cancel: boolean;
  /** `then print(FIELD, ...)`: event fields carried into the hit. */
  printFields: boolean;
}

export const BACKEND_CAPABILITIES: Record<BackendChoice, BackendCapabilities> = {
  any: {
    maxChainSteps: MAX_CHAIN_STEPS,
    cancel: true,
    printFields: true,
  },
  replay: {
    maxChainSteps: MAX_CHAIN_STEPS,
    cancel: true,
    printFields: true,
  },
  // eBPF: one program per tracepoint, each step's filter inlined: the language's limit holds
  ebpf: {
    maxChainSteps: MAX_CHAIN_STEPS,
    cancel: true,
    printFields: true,
  },
  kmod: {
    maxChainSteps: MAX_CHAIN_STEPS,
    cancel: true,
    printFields: true,
  },
};

const NAMES: Record<BackendName, string> = {
  ebpf: "the live eBPF backend",
  kmod: "the kernel-module backend (--target kmod)",
  replay: "replay",
};

/** The flags that choose a backend running `cancel`: "--replay or --target kmod". */
function cancelFlags(): string {
  const flags: Record<BackendName, string> = {
    replay: "--replay",
    kmod: "--target kmod",
    ebpf: "--target ebpf",
  };
  const running = (["replay", "kmod", "ebpf"] as const).filter(
    (b) => BACKEND_CAPABILITIES[b].cancel,
  );
  return running.map((b) => flags[b]).join(" or ");
}

/** False after reporting what the chosen backend cannot run. */
export function checkBackend(
  tracker: CheckedTrack,
  backend: BackendChoice,
  context: CheckContext,
): boolean {
  const caps = BACKEND_CAPABILITIES[backend];
  const errors = context.diagnostics.length;
  const chain = tracker.chain;
  if (chain && tracker.chainArrow) {
    if (caps.maxChainSteps === 0) {
      report(
        context,
        "backend-chain",
        `chain trackers do not run on ${NAMES[backend as BackendName]} yet`,
        tracker.chainArrow,
        [
          "run them live on the eBPF backend (the default), or record a trace and replay it: ltsh record --for-file FILE.lt, then ltsh run FILE.lt --replay TRACE",
        ],
      );
    } else if (chain.steps.length > caps.maxChainSteps) {
      report(
        context,
        "chain-length",
        `a chain has at most ${caps.maxChainSteps} steps (origin, waypoints, target); this one has ${chain.steps.length}`,
        chain.steps[caps.maxChainSteps].side.range,
      );
    }
  }
  if (tracker.cancels.length > 0 && !caps.cancel) {
    report(
      context,
      "backend-cancel",
      `cancel runs only with ${cancelFlags()} so far`,
      tracker.cancels[0].range,
      [`${NAMES[backend as BackendName]} has no cancel yet`],
    );
  }
  if (tracker.printRange && !caps.printFields) {
    report(
      context,
      "backend-print-fields",
      `${NAMES[backend as BackendName]} does not carry print(FIELD) fields yet`,
      tracker.printRange,
      ["run it on the live eBPF backend (the default) or --replay; plain print works everywhere"],
    );
  }
  return context.diagnostics.length === errors;
}
