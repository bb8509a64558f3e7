// The kmod target's user-space probes: one probe function per tracker and probe site (a
// USDT probe inlined twice has two sites, whose arguments may live in different places),
// holding that tracker's ends, cancels and begins at the site, as a tracepoint's probe
// function does. kmod-runtime/lt_uprobe.c registers each as a uprobe consumer.

import type { Diagnostic } from "../diagnostic.ts";
import { type ProbePlan, type ProbeSide, type TrackerPlan, USER_STRING_CTYPE } from "../plan.ts";
import { diag, type KeyMember, type SideCode, sideCode } from "./model.ts";
import { userSiteMapping } from "./uprobe-fields.ts";

/** The probe function of one tracker at one site of a user-space probe. */
export interface UserProbeFunction {
  probe: ProbePlan;
  /** Index in probe.user.sites. */
  site: number;
  /** Distinct within the tracker, for C names: "uprobe_lt_add", "usdt_tick_1". */
  name: string;
  ends: SideCode[];
  cancels: SideCode[];
  begins: SideCode[];
}

export interface UserSideInput {
  alt: ProbeSide;
  side: SideCode["side"];
  index: number;
  members: KeyMember[];
  headers: Set<string>;
  diagnostics: Diagnostic[];
}

/**
 * A string read by str() is 64 bytes; the runtime's keys hold 32 (LT_KEY_MAX). Said once
 * per tracker, at its first str() key, instead of the key-size error. True when said.
 */
export function refuseStringKeys(plan: TrackerPlan, diagnostics: Diagnostic[]): boolean {
  const sides = [...plan.begins, ...plan.ends, ...(plan.cancels ?? [])];
  const key = sides
    .flatMap((side) => side.key)
    .find((e) => e.kind === "field" && e.field.cType === USER_STRING_CTYPE);
  if (key === undefined) return false;
  diagnostics.push(
    diag(
      "kmod-user-string-key",
      "the kmod target cannot key by str(): the string is read into 64 bytes and a kernel-module key holds at most 32",
      key.range,
      [
        'filter on it instead (where str(arg0) == "..."), or key by the pointer, or run it on the eBPF backend',
      ],
    ),
  );
  return true;
}

function functionName(functions: UserProbeFunction[], probe: ProbePlan, site: number): string {
  const user = probe.user!;
  const base = `${user.kind}_${probe.name}${user.sites.length > 1 ? `_${site}` : ""}`;
  let name = base;
  for (let n = 2; functions.some((f) => f.name === name && f.probe.id !== probe.id); n++)
    name = `${base}_${n}`;
  return name;
}

/** Adds one alternative's code at every site of its probe to `functions`. */
export function addUserSides(functions: UserProbeFunction[], input: UserSideInput): void {
  const { alt, side, index, members, headers, diagnostics } = input;
  const probe = alt.probe;
  const sites = probe.user!.sites;
  for (const [site, plan] of sites.entries()) {
    const code = sideCode(alt, side, index, userSiteMapping(probe, plan), members, headers, []);
    if (!code) {
      // Every site reads the same fields: say it once, from the first.
      sideCode(alt, side, index, userSiteMapping(probe, plan), members, headers, diagnostics);
      return;
    }
    let fn = functions.find((f) => f.probe.id === probe.id && f.site === site);
    if (!fn) {
      const name = functionName(functions, probe, site);
      fn = { probe, site, name, ends: [], cancels: [], begins: [] };
      functions.push(fn);
    }
    ({ begin: fn.begins, end: fn.ends, cancel: fn.cancels })[side].push(code);
  }
}
