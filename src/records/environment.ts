// The hit as `then exec` hands it to the command: LTSH_* environment variables.

import { hitToJson } from "./output.ts";
import type { HitRecord } from "./types.ts";

/** The hit as environment variables for `then exec`. */
export function hitEnvironment(hit: HitRecord): Record<string, string> {
  const env: Record<string, string> = {
    LTSH_TRACKER: hit.tracker,
    LTSH_KIND: hit.kind,
    LTSH_LATENCY_NS: String(hit.latency_ns),
    LTSH_KEY: hit.key.map(String).join(","),
    LTSH_SNAPSHOT: hit.snapshot ?? "",
    LTSH_HIT: hitToJson(hit),
  };
  if (hit.key_comm) env.LTSH_KEY_COMM = hit.key_comm;
  for (const [side, context] of [
    ["BEGIN", hit.begin],
    ["END", hit.end],
  ] as const) {
    if (context === null) continue;
    env[`LTSH_${side}_PROBE`] = context.probe;
    env[`LTSH_${side}_TS_NS`] = String(context.ts_ns);
    env[`LTSH_${side}_CPU`] = String(context.cpu);
    env[`LTSH_${side}_TID`] = String(context.tid);
    env[`LTSH_${side}_PID`] = String(context.pid);
    env[`LTSH_${side}_COMM`] = context.comm;
  }
  return env;
}
