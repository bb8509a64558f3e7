// The kmod target's user-space probes: one probe function per tracker and probe location
// (a file offset; a USDT probe inlined twice has two, whose arguments may live in different
// places), holding that tracker's ends, cancels and begins there in the order of a
// tracepoint's probe function: alternatives that probe one location share it, as the
// kernel's consumers of one uprobe would run newest first (a chain's steps share a
// location's function the same way: chain-model.ts). kmod-runtime/lt_uprobe.c registers
// each as a uprobe consumer.

import type { Diagnostic } from "../diagnostic.ts";
import {
  type Expr,
  type ProbeSide,
  type TrackerPlan,
  USER_STRING_CTYPE,
  type UserProbePlan,
  type UserProbeSitePlan,
} from "../plan.ts";
import { diag, type KeyMember, type SideCode, sideCode } from "./model.ts";
import { userSiteMapping } from "./uprobe-fields.ts";

/** One tracker's probe function at one location in a user-space file: where, and its name. */
export interface UserProbeSite {
  /** A return probe's function is a consumer's ret_handler, the others' its handler. */
  atReturn: boolean;
  path: string;
  fileOffset: number;
  /** A USDT semaphore's file offset (ref_ctr_offset) when a probe here has one, else 0. */
  refCtrOffset: number;
  /** The first probe here, for the comment: "usdt:ltsh:tick". */
  about: string;
  /** Distinct within the tracker, for C names: "uprobe_lt_add", "usdt_tick_1". */
  name: string;
}

/** A plain tracker's probe function at one location: its ends, cancels and begins there. */
export interface UserProbeFunction extends UserProbeSite {
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
  /** What this alternative captures (model.ts capturedExprs). */
  captured: (Expr | null)[];
}

/**
 * A string read by str(), or a __data_loc string field, is 64 bytes; the runtime's keys hold
 * 32 (LT_KEY_MAX). Said once per tracker, at its first such key, instead of the key-size
 * error. True when said.
 */
export function refuseStringKeys(plan: TrackerPlan, diagnostics: Diagnostic[]): boolean {
  const sides = [...plan.begins, ...plan.ends, ...(plan.cancels ?? [])];
  const key = sides
    .flatMap((side) => side.key)
    .find((e) => e.kind === "field" && (e.field.cType === USER_STRING_CTYPE || e.field.dataLoc));
  if (key?.kind !== "field") return false;
  const [what, filter, pointer] = key.field.dataLoc
    ? [`'${key.field.name}', a variable-length string`, `where ${key.field.name} == "..."`, ""]
    : ["str()", 'where str(arg0) == "..."', ", or key by the pointer"];
  diagnostics.push(
    diag(
      "kmod-user-string-key",
      `the kmod target cannot key by ${what}: the string is read into 64 bytes and a kernel-module key holds at most 32`,
      key.range,
      [`filter on it instead (${filter})${pointer}, or run it on the eBPF backend`],
    ),
  );
  return true;
}

function functionName(functions: UserProbeSite[], base: string): string {
  let name = base;
  for (let n = 2; functions.some((f) => f.name === name); n++) name = `${base}_${n}`;
  return name;
}

/**
 * The function at site `index` of `user` among `functions`, made by `make` from its place
 * when it is the first probe there (a plain tracker's sides, a chain's steps).
 */
export function functionAt<F extends UserProbeSite>(
  functions: F[],
  user: UserProbePlan,
  shortName: string,
  index: number,
  make: (site: UserProbeSite) => F,
): F {
  const site: UserProbeSitePlan = user.sites[index];
  const atReturn = user.kind === "uretprobe";
  const found = functions.find(
    (f) => f.atReturn === atReturn && f.path === user.path && f.fileOffset === site.fileOffset,
  );
  if (found) {
    found.refCtrOffset ||= site.refCtrOffset;
    return found;
  }
  const suffix = user.sites.length > 1 ? `_${index}` : "";
  const fn = make({
    atReturn,
    path: user.path,
    fileOffset: site.fileOffset,
    refCtrOffset: site.refCtrOffset,
    about: `${user.kind}:${user.spec}`,
    name: functionName(functions, `${user.kind}_${shortName}${suffix}`),
  });
  functions.push(fn);
  return fn;
}

/** Adds one alternative's code at every site of its probe to `functions`. */
export function addUserSides(functions: UserProbeFunction[], input: UserSideInput): void {
  const { alt, side, index, members, headers, diagnostics, captured } = input;
  const probe = alt.probe;
  const user = probe.user!;
  for (const [site, plan] of user.sites.entries()) {
    const mapping = userSiteMapping(probe, plan);
    // Every site reads the same fields: a problem is said once, from the first.
    const problems = site ? [] : diagnostics;
    const code = sideCode(alt, side, index, mapping, members, headers, problems, captured);
    if (!code) return;
    const fn = functionAt(functions, user, probe.name, site, (place) => ({
      ...place,
      ends: [],
      cancels: [],
      begins: [],
    }));
    ({ begin: fn.begins, end: fn.ends, cancel: fn.cancels })[side].push(code);
  }
}
