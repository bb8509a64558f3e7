// Checks a tracker's clauses: threshold and timeout durations, keep, capacity and the
// actions of `then` (the action table is ./actions.ts).

import { ACTIONS, findAction, makeAction, splitCommand } from "./actions.ts";
import type { AstAction, AstClause, Quantity } from "./ast.ts";
import { checkPrintFields } from "./captures.ts";
import type { CheckedTrack } from "./checker.ts";
import { checkKeyedSide } from "./checker-chain.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { checkKeyShapes, checkProbe } from "./checker-probe.ts";
import type { SourceRange } from "./diagnostic.ts";
import type { Action } from "./plan.ts";
import { suggest } from "./suggest.ts";
import { DURATION_UNITS, MAX_DURATION_NS } from "./units.ts";

export const MAX_CAPACITY = 1_048_576;

export function checkClauses(
  clauses: AstClause[],
  tracker: CheckedTrack,
  context: CheckContext,
): void {
  const seen = new Map<string, AstClause>();
  for (const clause of clauses) {
    if (clause.kind === "cancel") {
      checkCancel(clause, tracker, context);
      continue;
    }
    const previous = seen.get(clause.kind);
    if (previous) {
      report(
        context,
        "duplicate-clause",
        `this tracker already has a ${clause.kind === "then" ? "then" : clause.kind} clause`,
        clause.range,
        [`first given at line ${previous.range.line}`],
      );
      continue;
    }
    seen.set(clause.kind, clause);
    if (clause.kind === "threshold")
      tracker.thresholdNs = checkDuration(clause.quantity, "threshold", context);
    if (clause.kind === "timeout")
      tracker.timeoutNs = checkDuration(clause.quantity, "timeout", context);
    if (clause.kind === "capacity") tracker.capacity = checkCapacity(clause.quantity, context);
    if (clause.kind === "keep") {
      if (clause.policy === "first" || clause.policy === "last") tracker.keep = clause.policy;
      else
        report(
          context,
          "keep-policy",
          `keep takes 'first' or 'last', not '${clause.policy}'`,
          clause.policyRange,
        );
    }
    if (clause.kind === "then") tracker.actions = checkActions(clause, tracker, context);
  }
}

/**
 * `cancel PROBE(key)` on a plain tracker: keyed like the begins. On a chain, `cancel PROBE`
 * has no key: it ends the chain held by the context where it fires.
 */
function checkCancel(
  clause: Extract<AstClause, { kind: "cancel" }>,
  tracker: CheckedTrack,
  context: CheckContext,
): void {
  if (tracker.chain) {
    for (const probe of clause.probes) {
      if (probe.keys.length > 0) {
        report(
          context,
          "cancel-chain-key",
          "a chain's cancel takes no key: it ends the chain held where the probe fires",
          spanOf(probe.keys[0].range, probe.keys[probe.keys.length - 1].range),
        );
        continue;
      }
      const side = checkProbe(probe, context);
      if (side) tracker.cancels.push(side);
    }
    return;
  }
  const sides = checkKeyedSide(clause.probes, context, "a cancel clause");
  if (sides.length === 0 || tracker.begins.length === 0) return;
  // Shapes are checked against the begin: a cancel forgets a pending begin by its key.
  checkKeyShapes([tracker.begins[0], ...sides], context);
  tracker.cancels.push(...sides);
}

function spanOf(from: SourceRange, to: SourceRange): SourceRange {
  return { ...from, endLine: to.endLine, endCol: to.endCol, endOffset: to.endOffset };
}

/** A duration in integer nanoseconds, or null after reporting why it is not one. */
export function checkDuration(
  q: Quantity,
  what: string,
  context: CheckContext,
  allowZero = false,
): number | null {
  const units = Object.keys(DURATION_UNITS).join(", ");
  if (q.unit === null) {
    report(
      context,
      "duration-unit",
      `${what} ${q.text} needs a unit (${units}), e.g. ${q.text}us`,
      q.range,
    );
    return null;
  }
  const scale = DURATION_UNITS[q.unit];
  if (scale === undefined) {
    const hint = /^(h|hours?|m|min|minutes?)$/.test(q.unit)
      ? ["the largest unit is s; durations stop at one hour (3600s)"]
      : suggest(q.unit, Object.keys(DURATION_UNITS), 1).map((u) => `did you mean ${q.value}${u}?`);
    report(
      context,
      "duration-unit",
      `unknown duration unit '${q.unit}' in ${q.text}; units: ${units}`,
      q.range,
      hint,
    );
    return null;
  }
  const ns = q.value * scale;
  if (ns < 0n || (ns === 0n && !allowZero)) {
    report(context, "duration-range", `${what} ${q.text} must be positive`, q.range);
    return null;
  }
  if (ns > MAX_DURATION_NS) {
    report(
      context,
      "duration-range",
      `${what} ${q.text} is over an hour: surely a mistake`,
      q.range,
    );
    return null;
  }
  return Number(ns);
}

function checkCapacity(q: Quantity, context: CheckContext): number | null {
  if (q.unit !== null || q.value < 1n || q.value > BigInt(MAX_CAPACITY)) {
    report(
      context,
      "capacity-range",
      `capacity must be a whole number from 1 to ${MAX_CAPACITY} pending begins, not ${q.text}`,
      q.range,
    );
    return null;
  }
  return Number(q.value);
}

function checkActions(
  clause: Extract<AstClause, { kind: "then" }>,
  tracker: CheckedTrack,
  context: CheckContext,
): Action[] {
  const actions: Action[] = [];
  for (const ast of clause.actions) {
    const kind = findAction(ast.name);
    if (!kind) {
      const names = ACTIONS.map((a) => a.name);
      const hint = suggest(ast.name, names, 1).map((s) => `did you mean ${s}?`);
      report(
        context,
        "unknown-action",
        `unknown action '${ast.name}'; actions: ${names.join(", ")}`,
        ast.nameRange,
        hint,
      );
      continue;
    }
    if (kind.takesCommand && !ast.argument) {
      report(
        context,
        "action-argument",
        `${kind.name} needs a command in quotes: ${kind.name} "cmd arg ..."`,
        ast.range,
      );
      continue;
    }
    if (!kind.takesCommand && ast.argument) {
      report(context, "action-argument", `${kind.name} takes no argument`, ast.argument.range);
      continue;
    }
    if (ast.fields !== null && !checkActionFields(ast, kind.takesFields, tracker, context)) {
      continue;
    }
    const argv = ast.argument ? splitCommand(ast.argument.value) : [];
    if (argv === null || (kind.takesCommand && argv.length === 0)) {
      report(
        context,
        "exec-command",
        argv === null ? "unbalanced quote in the command" : "the command is empty",
        ast.argument!.range,
      );
      continue;
    }
    const action = makeAction(kind, argv, ast.range);
    if (actions.some((a) => sameAction(a, action))) {
      context.diagnostics.push({
        severity: "warning",
        code: "duplicate-action",
        message: `${kind.name} is already listed: it runs once`,
        range: ast.range,
      });
      continue;
    }
    actions.push(action);
  }
  return actions;
}

/** `print(FIELD, ...)`: the fields become the tracker's captures. False after an error. */
function checkActionFields(
  ast: AstAction,
  takesFields: boolean,
  tracker: CheckedTrack,
  context: CheckContext,
): boolean {
  const fields = ast.fields!;
  const where = fields.length > 0 ? fields[0].range : ast.range;
  if (!takesFields) {
    report(context, "action-argument", `${ast.name} takes no fields`, where);
    return false;
  }
  if (tracker.chain) {
    report(
      context,
      "print-chain",
      "print(FIELD) is for plain trackers, not chains, so far",
      where,
      ["a chain hit shows each stage's task and CPU already"],
    );
    return false;
  }
  tracker.printRange = ast.range;
  const errors = context.diagnostics.length;
  tracker.captures.push(...checkPrintFields(fields, tracker.begins, tracker.ends, context));
  return !context.diagnostics.slice(errors).some((d) => d.severity === "error");
}

function sameAction(a: Action, b: Action): boolean {
  return (
    a.kind === b.kind &&
    (a.kind !== "exec" || (b.kind === "exec" && a.argv.join("\0") === b.argv.join("\0")))
  );
}
