// Probe kinds: how a probe name in a `track` statement becomes a ProbePlan. One registry
// entry per kind; today tracepoints (`sched_wakeup`, `sched:sched_wakeup`), later uprobes.

import type { CatalogIndex } from "./catalog/index.ts";
import type { ProbePlan } from "./plan.ts";

export type ProbeResolution =
  | { ok: true; probe: ProbePlan }
  | { ok: false; code: string; message: string; notes: string[] };

export interface ProbeKind {
  name: string;
  doc: string;
  resolve(spec: string, catalog: CatalogIndex): ProbeResolution;
}

const tracepointKind: ProbeKind = {
  name: "tracepoint",
  doc: "a kernel tracepoint, by category:name or by a name only one category has",
  resolve(spec, catalog) {
    const found = catalog.find(spec);
    if (found.ok) {
      const t = found.tracepoint;
      return {
        ok: true,
        probe: {
          id: `${t.category}:${t.name}`,
          category: t.category,
          name: t.name,
          eventId: t.id,
          fields: t.fields,
        },
      };
    }
    if (found.reason === "ambiguous") {
      return {
        ok: false,
        code: "ambiguous-tracepoint",
        message: `tracepoint '${spec}' exists in several categories`,
        notes: [`write one of: ${found.candidates.join(", ")}`],
      };
    }
    const notes =
      found.suggestions.length > 0 ? [`did you mean ${found.suggestions.join(" or ")}?`] : [];
    const [prefix, name] = spec.split(":");
    if (name !== undefined && catalog.find(name).ok) {
      notes.push(
        `to name the tracker '${prefix}', put a space after the colon: track ${prefix}: ${name}(...)`,
      );
    }
    notes.push(`catalog: ${catalog.source}; list tracepoints with: ltsh events 'PATTERN*'`);
    return {
      ok: false,
      code: "unknown-tracepoint",
      message: `unknown tracepoint '${spec}'`,
      notes,
    };
  },
};

export const PROBE_KINDS: ProbeKind[] = [tracepointKind];

/** Every name today is a tracepoint; a kind prefix (`uprobe:`) will pick others. */
export function resolveProbe(spec: string, catalog: CatalogIndex): ProbeResolution {
  return PROBE_KINDS[0].resolve(spec, catalog);
}
