// A chain tracker (`~>`) on the kmod target: the probe functions its module needs (every
// step's and cancel's tracepoint or user-space probe site, and every context event
// kmod-runtime/lt_chain.c follows), each with the steps it may reach and the C of their
// filters and `->` keys. The rules themselves are C in kmod-runtime/lt_chain.c;
// chain-source.ts writes these probes.

import { chainContextEvents } from "../contexts.ts";
import type { Diagnostic, SourceRange } from "../diagnostic.ts";
import type { ProbeSide, TrackerPlan, ValueType } from "../plan.ts";
import { ExprTranslator, UnsupportedExpr } from "./expr.ts";
import { type FieldMapping, findEventMapping, type KernelTracepoint } from "./tracepoints.ts";
import { userSiteMapping, userStringLocals } from "./uprobe-fields.ts";
import { functionAt, type UserProbeSite } from "./uprobe-model.ts";

/** LT_CHAIN_KEY_MAX of kmod-runtime/lt_chain.h: the bytes of a `->` key. */
export const CHAIN_KEY_MAX = 24;

/** One step or cancel on a probe: when it holds, and (steps paired by key) its key. */
export interface ChainSideCode {
  /** The step's index (0: the origin); -1 for a cancel. */
  step: number;
  /** C conditions: the mapping's (a syscall number) and the filter. */
  conditions: string[];
  key: { name: string; type: ValueType; value: string }[];
}

/** One probe function: a kernel tracepoint and what the chain does with it. */
export interface ChainProbe {
  tracepoint: KernelTracepoint;
  /** The LT_CHAIN_EV_* kind (lt_chain.h). */
  kind: string;
  sides: ChainSideCode[];
  usesArgs: boolean;
  /** x86 vectors: a kernel without it loads the module all the same. */
  optional: boolean;
}

/**
 * One uprobe consumer: a user-space probe site and what the chain does there. It runs in the
 * probed task, which is the event's context as for a tracepoint of that task.
 */
export interface ChainUserProbe extends UserProbeSite {
  sides: ChainSideCode[];
  /** The buffers its str() fields are read into. */
  locals: string[];
}

export interface ChainModel {
  probes: ChainProbe[];
  /** The consumers of its user-space steps and cancels, one per site. */
  userProbes: ChainUserProbe[];
  /** Bit k: step k is a sched_switch step (reached at a switch-in). */
  switchSteps: number;
  /** Bit k: step k is reached by key (`->`). */
  keySteps: number;
  /** Each segment's name in the stats file ("NAME/K"). */
  segments: string[];
  /** Bytes of each step's `->` key (0: none). */
  keySizes: number[];
  headers: Set<string>;
}

const KINDS: Record<string, string> = {
  irq_handler_entry: "IRQ_ENTRY",
  irq_handler_exit: "IRQ_EXIT",
  softirq_entry: "SOFTIRQ_ENTRY",
  softirq_exit: "SOFTIRQ_EXIT",
  softirq_raise: "SOFTIRQ_RAISE",
  tasklet_entry: "TASKLET_ENTRY",
  tasklet_exit: "TASKLET_EXIT",
  hrtimer_expire_entry: "HRTIMER_ENTRY",
  hrtimer_expire_exit: "HRTIMER_EXIT",
  timer_expire_entry: "TIMER_ENTRY",
  timer_expire_exit: "TIMER_EXIT",
  sched_waking: "WAKING",
  sched_switch: "SWITCH",
};

function kindOf(id: string, tracepoint: string): string {
  const kind = KINDS[tracepoint];
  if (kind) return `LT_CHAIN_EV_${kind}`;
  if (id.startsWith("irq_vectors:")) {
    return tracepoint.endsWith("_entry") ? "LT_CHAIN_EV_VECTOR_ENTRY" : "LT_CHAIN_EV_VECTOR_EXIT";
  }
  return "LT_CHAIN_EV_OTHER";
}

function diag(code: string, message: string, range: SourceRange): Diagnostic {
  return { severity: "error", code, message, range };
}

function sideCode(
  side: ProbeSide,
  step: number,
  mapping: FieldMapping,
  headers: Set<string>,
): { code: ChainSideCode; usesArgs: boolean; locals: string[] } {
  const translator = new ExprTranslator(mapping);
  const conditions = mapping.condition ? [mapping.condition] : [];
  if (side.filter) conditions.push(translator.translate(side.filter));
  const key = side.key.map((expr, i) => ({
    name: `k${i}`,
    type: expr.type,
    value: translator.translate(expr),
  }));
  for (const h of translator.headers) headers.add(h);
  const locals = userStringLocals(side.probe, translator.fieldsUsed);
  return { code: { step, conditions, key }, usesArgs: translator.usesArgs, locals };
}

/**
 * A user-space step or cancel at each site of its probe; the first site's code (every site
 * reads the same fields, so an unsupported one throws there), null for a probe without sites.
 */
function addUserSide(
  userProbes: ChainUserProbe[],
  side: ProbeSide,
  step: number,
  headers: Set<string>,
): ChainSideCode | null {
  const user = side.probe.user!;
  let first: ChainSideCode | null = null;
  for (const [index, site] of user.sites.entries()) {
    const { code, locals } = sideCode(side, step, userSiteMapping(side.probe, site), headers);
    const fn = functionAt(userProbes, user, side.probe.name, index, (place) => ({
      ...place,
      sides: [],
      locals: [],
    }));
    fn.sides.push(code);
    for (const l of locals) if (!fn.locals.includes(l)) fn.locals.push(l);
    first ??= code;
  }
  return first;
}

/** A tracepoint step or cancel on its probe function; null after a diagnostic. */
function addTracepointSide(
  side: ProbeSide,
  step: number,
  probeFor: (id: string, fields: string[]) => ChainProbe | null,
  headers: Set<string>,
  diagnostics: Diagnostic[],
): ChainSideCode | null {
  const fields = side.probe.fields.filter((f) => !f.common).map((f) => f.name);
  const mapping = findEventMapping(side.probe.id, fields);
  const probe = mapping && probeFor(side.probe.id, fields);
  if (!mapping || !probe) {
    diagnostics.push(
      diag(
        "kmod-unsupported-tracepoint",
        `the kmod target does not support tracepoint ${side.probe.id}`,
        side.range,
      ),
    );
    return null;
  }
  const { code, usesArgs } = sideCode(side, step, mapping, headers);
  probe.sides.push(code);
  probe.usesArgs ||= usesArgs;
  return code;
}

/** The chain's probes, or null after adding the diagnostics that say why not. */
export function buildChainModel(plan: TrackerPlan, diagnostics: Diagnostic[]): ChainModel | null {
  const chain = plan.chain!;
  const before = diagnostics.length;
  const headers = new Set<string>(["linux/bits.h"]);
  const probes = new Map<string, ChainProbe>();
  const probeFor = (id: string, fields: string[]): ChainProbe | null => {
    const mapping = findEventMapping(id, fields);
    if (!mapping) return null;
    const tp = mapping.tracepoint;
    let probe = probes.get(tp.name);
    if (!probe) {
      const optional = id.startsWith("irq_vectors:");
      probe = { tracepoint: tp, kind: kindOf(id, tp.name), sides: [], usesArgs: false, optional };
      probes.set(tp.name, probe);
      for (const h of tp.headers) headers.add(h);
    }
    return probe;
  };
  const sides = [
    ...chain.steps.map((s, k) => [s.side, k] as const),
    ...(plan.cancels ?? []).map((side) => [side, -1] as const),
  ];
  const keySizes = chain.steps.map(() => 0);
  const userProbes: ChainUserProbe[] = [];
  for (const [side, step] of sides) {
    try {
      const code = side.probe.user
        ? addUserSide(userProbes, side, step, headers)
        : addTracepointSide(side, step, probeFor, headers, diagnostics);
      if (!code) continue;
      const size = code.key.reduce((sum, k) => sum + k.type.size, 0);
      if (step >= 0) keySizes[step] = size;
      if (size > CHAIN_KEY_MAX) {
        diagnostics.push(
          diag(
            "kmod-key-size",
            `a chain's \`->\` key is ${size} bytes; the kmod target keeps ${CHAIN_KEY_MAX}`,
            side.range,
          ),
        );
      }
    } catch (error) {
      if (!(error instanceof UnsupportedExpr)) throw error;
      diagnostics.push(diag("kmod-unsupported-field", error.message, error.expr.range));
    }
  }
  for (const id of chainContextEvents()) probeFor(id, []);
  if (diagnostics.length > before) return null;
  const bits = (pick: (k: number) => boolean) =>
    chain.steps.reduce((mask, _, k) => (pick(k) ? mask | (1 << k) : mask), 0);
  const names = chain.steps.slice(1).map((_, i) => `${plan.name}/${i}`);
  if (chain.until === "block") names.push(`${plan.name}/${names.length}`);
  // The origin's probe last: lt_module.c registers the probes in order and removes them in
  // reverse, so no chain starts before the probes that carry it are in (nor after they go).
  const origin = chain.steps[0].side.probe;
  const originTracepoint = origin.user ? null : findEventMapping(origin.id, [])?.tracepoint.name;
  const last = <T>(items: T[], isOrigin: (item: T) => boolean) => [
    ...items.filter((item) => !isOrigin(item)),
    ...items.filter(isOrigin),
  ];
  return {
    probes: last([...probes.values()], (p) => p.tracepoint.name === originTracepoint),
    userProbes: last(userProbes, (u) => u.sides.some((side) => side.step === 0)),
    switchSteps: bits((k) => k > 0 && chain.steps[k].side.probe.id === "sched:sched_switch"),
    keySteps: bits((k) => chain.steps[k].via === "key"),
    segments: names,
    keySizes,
    headers,
  };
}
