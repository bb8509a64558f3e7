// Probe kinds: how a probe name in a `track` statement becomes a ProbePlan. One registry
// entry per kind: tracepoints (`sched_wakeup`, `sched:sched_wakeup`) and user-space probes
// (`uprobe:PATH:SYMBOL`, `uretprobe:PATH:SYMBOL`, `usdt:PATH:[PROVIDER:]NAME`).

import type { CatalogIndex } from "./catalog/index.ts";
import type { ProbePlan } from "./plan.ts";
import type { planUserProbe } from "./uprobe/probe-plan.ts";
import { isUserProbeSpelling } from "./uprobe/spelling.ts";

/**
 * The user-space probe readers (uprobe/probe-plan.ts: ELF symbols, USDT notes), passed in
 * rather than imported: most programs name only tracepoints, and a command imports them only
 * for a program that may name a user-space probe (compile-async.ts). null: the program names
 * none (mayNameUserProbe said so), or only tracepoints are resolved.
 */
export type UserProbePlanner = typeof planUserProbe | null;

export type ProbeResolution =
  | { ok: true; probe: ProbePlan; warnings?: string[] }
  | { ok: false; code: string; message: string; notes: string[] };

export interface ProbeKind {
  name: string;
  doc: string;
  /** Whether a spelling is this kind's; the tracepoint kind takes what no other kind does. */
  claims(spec: string): boolean;
  resolve(spec: string, catalog: CatalogIndex, userProbes: UserProbePlanner): ProbeResolution;
}

const tracepointKind: ProbeKind = {
  name: "tracepoint",
  doc: "a kernel tracepoint, by category:name or by a name only one category has",
  claims: () => true,
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

const userProbeKind: ProbeKind = {
  name: "user-space probe",
  doc: "uprobe:PATH:SYMBOL[+OFFSET], uprobe:PATH:0xADDRESS, uretprobe:PATH:SYMBOL, usdt:PATH:[PROVIDER:]NAME",
  claims: isUserProbeSpelling,
  resolve(spec, _catalog, userProbes) {
    if (userProbes === null) {
      // A probe's name is part of the program's text, which mayNameUserProbe looked at.
      throw new Error(`ltsh bug: '${spec}' resolved without the user-space probe readers`);
    }
    const planned = userProbes(spec);
    if (!planned.ok) {
      // A USDT miss lists the binary's probes in its message; a symbol miss cannot list them all.
      const notes = planned.message.startsWith("no function")
        ? ["list a binary's functions with: ltsh events 'uprobe:PATH:PATTERN*'"]
        : [];
      return { ok: false, code: "user-probe", message: planned.message, notes };
    }
    const { probe, warnings } = planned.value;
    return { ok: true, probe, ...(warnings.length > 0 ? { warnings } : {}) };
  },
};

/** In the order they are asked: the first kind that claims a spelling resolves it. */
export const PROBE_KINDS: ProbeKind[] = [userProbeKind, tracepointKind];

export function resolveProbe(
  spec: string,
  catalog: CatalogIndex,
  userProbes: UserProbePlanner,
): ProbeResolution {
  return PROBE_KINDS.find((kind) => kind.claims(spec))!.resolve(spec, catalog, userProbes);
}

/**
 * The names a probe's events have in a trace: a tracepoint's name, or the uprobe_events
 * names `ltsh record --for-file` gives a user-space probe's sites.
 */
export function traceEventNames(probe: ProbePlan): string[] {
  return probe.user === undefined ? [probe.name] : probe.user.sites.map((s) => s.recorderEvent);
}
