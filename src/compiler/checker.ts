// Pass 3: resolves probes against the catalog, types keys and filters, checks clauses and
// actions. Produces CheckedTrack values that the planner completes (names, defaults).

import type { AstProbe, AstProgram, AstTrack } from "./ast.ts";
import type { CatalogIndex } from "./catalog/index.ts";
import { checkClauses } from "./checker-clauses.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { checkCondition, checkExpr, type ExprScope, isCondition } from "./checker-expr.ts";
import { type CheckedOption, checkSet } from "./checker-set.ts";
import type { Diagnostic, SourceRange } from "./diagnostic.ts";
import { describeType } from "./field-types.ts";
import type { Action, Expr, KeepPolicy, ProbeSide, ValueType } from "./plan.ts";
import { resolveProbe } from "./probes.ts";

export interface CheckedTrack {
  name: { text: string; range: SourceRange } | null;
  begins: ProbeSide[];
  ends: ProbeSide[];
  keyTypes: ValueType[];
  thresholdNs: number | null;
  timeoutNs: number | null;
  keep: KeepPolicy | null;
  capacity: number | null;
  actions: Action[] | null;
  range: SourceRange;
}

export interface CheckedProgram {
  file: string;
  trackers: CheckedTrack[];
  options: CheckedOption[];
}

export function checkProgram(
  program: AstProgram,
  catalog: CatalogIndex,
  existingNames: readonly string[] = [],
): {
  checked: CheckedProgram;
  diagnostics: Diagnostic[];
} {
  const context: CheckContext = { catalog, diagnostics: [] };
  const trackers: CheckedTrack[] = [];
  const options: CheckedOption[] = [];
  for (const statement of program.statements) {
    if (statement.kind === "set") {
      const option = checkSet(statement, context, options);
      if (option) options.push(option);
    } else {
      const tracker = checkTrack(statement, context);
      if (tracker) trackers.push(tracker);
    }
  }
  checkDuplicateNames(trackers, existingNames, context);
  return { checked: { file: program.file, trackers, options }, diagnostics: context.diagnostics };
}

function checkTrack(ast: AstTrack, context: CheckContext): CheckedTrack | null {
  const errorsBefore = context.diagnostics.filter((d) => d.severity === "error").length;
  const begins = ast.begins
    .map((p) => checkProbe(p, context))
    .filter((s): s is ProbeSide => s !== null);
  const ends = ast.ends
    .map((p) => checkProbe(p, context))
    .filter((s): s is ProbeSide => s !== null);
  const sides = [...begins, ...ends];
  const keyTypes = sides.length > 0 ? checkKeyShapes(sides, context) : [];
  const tracker: CheckedTrack = {
    name: ast.name,
    begins,
    ends,
    keyTypes,
    thresholdNs: null,
    timeoutNs: null,
    keep: null,
    capacity: null,
    actions: null,
    range: ast.range,
  };
  checkClauses(ast.clauses, tracker, context);
  const errorsAfter = context.diagnostics.filter((d) => d.severity === "error").length;
  return errorsAfter === errorsBefore ? tracker : null;
}

function checkProbe(ast: AstProbe, context: CheckContext): ProbeSide | null {
  const resolved = resolveProbe(ast.name, context.catalog);
  if (!resolved.ok) {
    report(context, resolved.code, resolved.message, ast.nameRange, resolved.notes);
    return null;
  }
  const scope: ExprScope = { probe: resolved.probe, diagnostics: context.diagnostics };
  const key: (Expr | null)[] = ast.keys.map((k) => {
    const expr = checkExpr(k, scope);
    if (expr && isCondition(expr)) {
      report(
        context,
        "key-condition",
        "a key is a value such as pid or skbaddr, not a condition",
        k.range,
      );
      return null;
    }
    return expr;
  });
  const filter =
    ast.filter && checkCondition(ast.filter, scope, "a where filter must be a condition");
  if (key.includes(null) || (ast.filter && !filter)) return null;
  return { probe: resolved.probe, key: key as Expr[], filter, range: ast.range };
}

/** Every alternative must have the begin's key shape; ints of any width match, strings match strings. */
function checkKeyShapes(sides: ProbeSide[], context: CheckContext): ValueType[] {
  const [first] = sides;
  const keyTypes: ValueType[] = first.key.map((k) =>
    k.type.kind === "int" ? { kind: "int", size: 8, signed: k.type.signed } : { ...k.type },
  );
  for (const side of sides.slice(1)) {
    if (side.key.length !== keyTypes.length) {
      report(
        context,
        "key-arity",
        `${side.probe.name} has ${count(side.key.length, "key")} but ${first.probe.name} has ${keyTypes.length}: every side of a tracker needs the same key shape`,
        side.range,
      );
      continue;
    }
    side.key.forEach((k, i) => {
      const expected = keyTypes[i];
      if (k.type.kind !== expected.kind) {
        report(
          context,
          "key-type",
          `key ${i + 1} is ${describeType(k.type)} here but ${describeType(first.key[i].type)} in ${first.probe.name}`,
          k.range,
        );
      } else if (k.type.kind === "string" && expected.kind === "string") {
        expected.size = Math.max(expected.size, k.type.size);
      } else if (k.type.kind === "int" && expected.kind === "int") {
        expected.signed ||= k.type.signed;
      }
    });
  }
  return keyTypes;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function checkDuplicateNames(
  trackers: CheckedTrack[],
  existingNames: readonly string[],
  context: CheckContext,
): void {
  const given = new Map<string, SourceRange>();
  for (const t of trackers) {
    if (!t.name) continue;
    const previous = given.get(t.name.text);
    if (previous || existingNames.includes(t.name.text)) {
      report(
        context,
        "duplicate-name",
        `a tracker named '${t.name.text}' already exists`,
        t.name.range,
        previous ? [`first defined at line ${previous.line}`] : undefined,
      );
    } else {
      given.set(t.name.text, t.name.range);
    }
  }
}
