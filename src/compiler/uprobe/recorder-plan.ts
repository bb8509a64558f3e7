// The uprobe_events entries `ltsh record --for-file` defines for a whole program: for each
// user-space probe its trackers name, one entry per site under the names the plan gives its
// sites (`recorderEvent`, what replay dispatches on), with the fetch arguments of
// recorder-events.ts, plus `argN_str=+0(FETCH):ustring` for each `str(argN)` the trackers use.

import type { Expr, FilePlan, ProbePlan } from "../plan.ts";
import type { ElfResult } from "./elf.ts";
import { recorderBaseName } from "./probe-plan.ts";
import { resolveUserProbe } from "./probe-target.ts";
import { type RecorderEvents, recorderEvents } from "./recorder-events.ts";

/** Every user-space probe of `plan`, once each, with the `str()` fields read at it. */
function userProbes(plan: FilePlan): Map<string, { probe: ProbePlan; strings: Set<string> }> {
  const found = new Map<string, { probe: ProbePlan; strings: Set<string> }>();
  for (const t of plan.trackers) {
    const sides = [
      ...t.begins,
      ...t.ends,
      ...(t.cancels ?? []),
      ...(t.chain?.steps.map((s) => s.side) ?? []),
    ];
    for (const side of sides) {
      if (side.probe.user === undefined) continue;
      const entry = found.get(side.probe.id) ?? { probe: side.probe, strings: new Set() };
      found.set(side.probe.id, entry);
      for (const e of [...side.key, side.filter]) if (e) stringFields(e, entry.strings);
    }
  }
  return found;
}

function stringFields(e: Expr, into: Set<string>): void {
  if (e.kind === "field" && e.type.kind === "string") into.add(e.field.name);
  else if (e.kind === "not") stringFields(e.operand, into);
  else if (e.kind === "compare" || e.kind === "logic") {
    stringFields(e.left, into);
    stringFields(e.right, into);
  }
}

/** The specs to define; `unreadable` names what uprobe_events cannot fetch (indexed operands). */
export function recorderEventsOf(plan: FilePlan): ElfResult<RecorderEvents> {
  const all: RecorderEvents = { specs: [], unreadable: [] };
  for (const { probe, strings } of userProbes(plan).values()) {
    const user = probe.user!;
    const target = resolveUserProbe(user.kind, user.path, user.spec);
    if (!target.ok) return target;
    const events = recorderEvents(target.value, recorderBaseName(target.value));
    if (!events.ok) return events;
    for (const spec of events.value.specs) {
      const fetchArgs = spec.fetchArgs ?? [];
      const extra = [...strings].flatMap((name) => {
        const source = fetchArgs.find((a) => a.startsWith(`${name.slice(0, -4)}=`));
        const fetch = source?.slice(source.indexOf("=") + 1).replace(/:[a-z0-9@/]+$/, "");
        // A constant has no memory behind it (`\0x5`).
        return fetch === undefined || fetch.startsWith("\\")
          ? []
          : [`${name}=+0(${fetch}):ustring`];
      });
      all.specs.push({ ...spec, fetchArgs: [...fetchArgs, ...extra] });
    }
    all.unreadable.push(...events.value.unreadable);
  }
  return { ok: true, value: all };
}
