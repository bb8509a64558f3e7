// The kmod target's first pass: a FilePlan checked against what a module can do (the
// tracepoint table, key size, actions), giving per tracker the probe functions to write.
// Problems are Diagnostics at the place in the .lt source they come from.

import { keySlotSize } from "../bpf/layout.ts";
import type { Diagnostic, SourceRange } from "../diagnostic.ts";
import type { Expr, FilePlan, ProbeSide, TrackerPlan, ValueType } from "../plan.ts";
import { buildChainModel, type ChainModel } from "./chain-model.ts";
import { cType, ExprTranslator, UnsupportedExpr } from "./expr.ts";
import {
  type EventMapping,
  type FieldMapping,
  findEventMapping,
  type KernelTracepoint,
  supportedEventNames,
} from "./tracepoints.ts";
import { userStringLocals } from "./uprobe-fields.ts";
import { addUserSides, refuseStringKeys, type UserProbeFunction } from "./uprobe-model.ts";

/** LT_KEY_MAX of kmod-runtime/lt_tracker.h. */
export const KEY_MAX = 32;
/** Characters of a tracker name the runtime keeps (LT_NAME_LEN - 1); the stats file shows it. */
export const NAME_MAX = 63;
/** Tracker identifiers are cut to this, so generated C lines stay within 100 columns. */
const IDENT_MAX = 32;

export interface KeyMember {
  name: string;
  type: ValueType;
  /** Byte offset in the packed key struct (as src/session/kmod-decode.ts reads keys). */
  offset: number;
}

/** LT_CAPTURE_MAX of kmod-runtime/lt_tracker.h: captured bytes per side. */
export const CAPTURE_MAX = 128;

/**
 * A captured value (plan.captures) as a member of the tracker's captures struct: ints
 * widened to 64 bits, strings in 8-byte slots, the layout eBPF's hits use (captureLayout).
 */
export interface CaptureMember {
  name: string;
  type: ValueType;
  /** Bytes of its slot (keySlotSize). */
  size: number;
}

/** One captured value of one alternative as C: the expression and, for strings, its size. */
export interface CaptureCode {
  text: string;
  /** A string's bytes to copy (its field's size); 0 for an integer. */
  stringSize: number;
  /** A NUL-terminated string of its own length (a __data_loc field): copied up to its NUL. */
  terminated: boolean;
}

/** One alternative of one side, as C. */
export interface SideCode {
  side: "begin" | "end" | "cancel";
  /** Index among the tracker's alternatives of that side (lt_ctx.probe). */
  index: number;
  mapping: FieldMapping;
  /** One C expression per key member. */
  key: string[];
  filter: string | null;
  usesArgs: boolean;
  /** Declarations the probe function needs for this side (a user string's buffer). */
  locals: string[];
  /** Per capture member: its value here, null when this probe has no such field. */
  captures: (CaptureCode | null)[];
}

/** The probe function of one tracker on one kernel tracepoint. */
export interface ProbeFunction {
  tracepoint: KernelTracepoint;
  ends: SideCode[];
  /** `cancel` clauses: after the ends, before the begins (grammar/README.md). */
  cancels: SideCode[];
  begins: SideCode[];
  /** Registered only when the kernel has the tracepoint (the x86 vectors a chain follows). */
  optional?: boolean;
}

export interface TrackerModel {
  plan: TrackerPlan;
  index: number;
  /** The tracker in C identifiers ("wakeup": lt_wakeup_key, wakeup_threshold_ns). */
  ident: string;
  keyMembers: KeyMember[];
  keySize: number;
  /** Its captured values (`then print` fields, the key task's name); [] when none. */
  captures: CaptureMember[];
  probes: ProbeFunction[];
  /** Its probe functions on user-space probe sites (./uprobe-model.ts). */
  userProbes: UserProbeFunction[];
  /** What its probe functions include: the tracepoints' headers and the builtins'. */
  headers: Set<string>;
  /** A chain tracker's probes (chain-model.ts); then the sides above are empty. */
  chain?: ChainModel;
}

export interface ModuleModel {
  /** KBUILD_MODNAME: "lt_wakeup". */
  name: string;
  file: string;
  trackers: TrackerModel[];
  /** Every tracker's headers, sorted. */
  headers: string[];
}

export function cIdentifier(text: string): string {
  const ident = text.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
  return ident.length > 0 ? ident : "tracker";
}

/** kmod-runtime's objects (Kbuild.inc): a module of the same name would be its own input. */
const RUNTIME_OBJECTS = new Set(
  [
    "pool",
    "table",
    "tracker",
    "ring",
    "output",
    "scope",
    "chain",
    "chain_context",
    "chain_store",
    "chain_life",
    "module",
  ].map((n) => `lt_${n}`),
);

/** "examples/wakeup.lt" → "lt_wakeup" ("chain.lt" → "lt_chain_mod": lt_chain.o is the runtime's). */
export function moduleNameFor(file: string): string {
  const base = file.replace(/^.*\//, "").replace(/\.lt$/, "");
  const name = `lt_${cIdentifier(base).toLowerCase()}`.slice(0, 40);
  return RUNTIME_OBJECTS.has(name) ? `${name}_mod` : name;
}

function keyMembers(plan: TrackerPlan): KeyMember[] {
  const used = new Set<string>();
  let offset = 0;
  return plan.keyTypes.map((type, i) => {
    const expr = plan.begins[0]?.key[i];
    let base = `k${i}`;
    if (expr?.kind === "field") base = cIdentifier(expr.field.name);
    if (expr?.kind === "builtin") base = expr.name;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    const member = { name, type, offset };
    offset += type.size;
    return member;
  });
}

export function diag(
  code: string,
  message: string,
  range: SourceRange,
  notes?: string[],
): Diagnostic {
  return { severity: "error", code, message, range, ...(notes ? { notes } : {}) };
}

/** The tracepoint mapping of a side, or null after saying the kmod target lacks it. */
function tracepointMapping(alt: ProbeSide, diagnostics: Diagnostic[]): EventMapping | null {
  const nonCommon = alt.probe.fields.filter((f) => !f.common).map((f) => f.name);
  const mapping = findEventMapping(alt.probe.id, nonCommon);
  if (!mapping) {
    diagnostics.push(
      diag(
        "kmod-unsupported-tracepoint",
        `the kmod target does not support tracepoint ${alt.probe.id}`,
        alt.range,
        [`supported: ${supportedEventNames().join(", ")}`],
      ),
    );
  }
  return mapping ?? null;
}

/** One alternative's key and filter as C over `mapping`; null after a diagnostic. */
export function sideCode(
  alt: ProbeSide,
  side: SideCode["side"],
  index: number,
  mapping: FieldMapping,
  members: KeyMember[],
  headers: Set<string>,
  diagnostics: Diagnostic[],
  captured: (Expr | null)[] = [],
): SideCode | null {
  const translator = new ExprTranslator(mapping);
  try {
    const key = alt.key.map((expr, i) => {
      const text = translator.translate(expr);
      const member = members[i];
      if (expr.type.kind !== member.type.kind) {
        throw new UnsupportedExpr("a key mixes strings and integers", expr);
      }
      return text;
    });
    const filter = alt.filter ? translator.translate(alt.filter) : null;
    const captures = captured.map((expr) =>
      expr
        ? {
            text: translator.translate(expr),
            stringSize: expr.type.kind === "string" ? expr.type.size : 0,
            terminated: expr.kind === "field" && expr.field.dataLoc === true,
          }
        : null,
    );
    for (const h of translator.headers) headers.add(h);
    const locals = userStringLocals(alt.probe, translator.fieldsUsed);
    const usesArgs = translator.usesArgs;
    return { side, index, mapping, key, filter, usesArgs, locals, captures };
  } catch (error) {
    if (!(error instanceof UnsupportedExpr)) throw error;
    diagnostics.push(diag("kmod-unsupported-field", error.message, error.expr.range));
    return null;
  }
}

/** The tracker's captured values as struct members, uniquely named in C. */
function captureMembers(plan: TrackerPlan): CaptureMember[] {
  const used = new Set<string>();
  return (plan.captures ?? []).map((capture) => {
    const base = cIdentifier(capture.name);
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return { name, type: capture.type, size: keySlotSize(capture.type) };
  });
}

/** What alternative `index` of `side` captures (a cancel captures nothing). */
function capturedExprs(plan: TrackerPlan, side: SideCode["side"], index: number): (Expr | null)[] {
  if (side === "cancel") return [];
  return (plan.captures ?? []).map((c) => (side === "begin" ? c.begins : c.ends)[index] ?? null);
}

function trackerModel(
  plan: TrackerPlan,
  index: number,
  diagnostics: Diagnostic[],
): TrackerModel | null {
  const before = diagnostics.length;
  const ident = cIdentifier(plan.name).slice(0, IDENT_MAX);
  if (plan.name.length > NAME_MAX) {
    diagnostics.push(
      diag(
        "kmod-name-length",
        `the kmod target keeps tracker names up to ${NAME_MAX} characters; ${plan.name} has ${plan.name.length}`,
        plan.range,
      ),
    );
  }
  if (plan.chain) return chainTracker(plan, index, ident, diagnostics);
  const members = keyMembers(plan);
  const keySize = members.reduce((sum, m) => sum + m.type.size, 0);
  // A str() key is too big too: said at the str(), with why.
  const stringKey = refuseStringKeys(plan, diagnostics);
  if (!stringKey && (keySize > KEY_MAX || keySize === 0)) {
    diagnostics.push(
      diag(
        "kmod-key-size",
        `the key of ${plan.name} is ${keySize} bytes; the kmod target needs 1 to ${KEY_MAX}`,
        plan.range,
      ),
    );
  }
  const captures = captureMembers(plan);
  const captureSize = captures.reduce((sum, m) => sum + m.size, 0);
  if (captureSize > CAPTURE_MAX) {
    diagnostics.push(
      diag(
        "kmod-capture-size",
        `${plan.name} carries ${captureSize} bytes of event fields per event; the kmod target carries up to ${CAPTURE_MAX}`,
        plan.range,
        ["print fewer or smaller fields, or run it on the live eBPF backend (the default)"],
      ),
    );
  }
  const headers = new Set<string>();
  const byTracepoint = new Map<string, ProbeFunction>();
  // Begin probes first in the file; inside one probe function ends still run first.
  const sides = [
    ...plan.begins.map((alt, i) => ["begin", alt, i] as const),
    ...plan.ends.map((alt, i) => ["end", alt, i] as const),
    ...(plan.cancels ?? []).map((alt, i) => ["cancel", alt, i] as const),
  ];
  const userProbes: UserProbeFunction[] = [];
  for (const [side, alt, i] of sides) {
    if (alt.probe.user) {
      const captured = capturedExprs(plan, side, i);
      addUserSides(userProbes, { alt, side, index: i, members, headers, diagnostics, captured });
      continue;
    }
    const mapping = tracepointMapping(alt, diagnostics);
    const captured = capturedExprs(plan, side, i);
    const code =
      mapping && sideCode(alt, side, i, mapping, members, headers, diagnostics, captured);
    if (!mapping || !code) continue;
    for (const h of mapping.tracepoint.headers) headers.add(h);
    const tp = mapping.tracepoint;
    let fn = byTracepoint.get(tp.name);
    if (!fn) {
      fn = { tracepoint: tp, ends: [], cancels: [], begins: [] };
      byTracepoint.set(tp.name, fn);
    }
    ({ begin: fn.begins, end: fn.ends, cancel: fn.cancels })[side].push(code);
  }
  if (diagnostics.slice(before).some((d) => d.severity === "error")) return null;
  const probes = [...byTracepoint.values()];
  return {
    plan,
    index,
    ident,
    keyMembers: members,
    keySize,
    captures,
    probes,
    userProbes,
    headers,
  };
}

function chainTracker(
  plan: TrackerPlan,
  index: number,
  ident: string,
  diagnostics: Diagnostic[],
): TrackerModel | null {
  const chain = buildChainModel(plan, diagnostics);
  if (!chain) return null;
  const probes = chain.probes.map((p) => ({
    tracepoint: p.tracepoint,
    ends: [],
    cancels: [],
    begins: [],
    optional: p.optional,
  }));
  const headers = chain.headers;
  const keySize = 1;
  const userProbes: UserProbeFunction[] = [];
  return {
    plan,
    index,
    ident,
    keyMembers: [],
    keySize,
    captures: [],
    probes,
    userProbes,
    headers,
    chain,
  };
}

/** The module for a program, or the diagnostics that say why there is none. */
export function buildModuleModel(plan: FilePlan): {
  model: ModuleModel | null;
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const trackers = plan.trackers.map((t, i) => trackerModel(t, i, diagnostics));
  const idents = new Set<string>();
  for (const t of trackers) {
    if (!t) continue;
    while (idents.has(t.ident)) t.ident = `${t.ident}_`;
    idents.add(t.ident);
  }
  diagnostics.sort((a, b) => a.range.offset - b.range.offset);
  if (diagnostics.some((d) => d.severity === "error")) return { model: null, diagnostics };
  const ok = trackers.filter((t): t is TrackerModel => t !== null);
  const headers = [...new Set(ok.flatMap((t) => [...t.headers]))].sort();
  return {
    model: { name: moduleNameFor(plan.file), file: plan.file, trackers: ok, headers },
    diagnostics,
  };
}

export { cType };
