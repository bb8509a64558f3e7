// Probes as the checker sees them: a name resolved against the catalog, a typed key and
// filter; and the rule that every side keyed together has one key shape.

import type { AstProbe } from "./ast.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { checkCondition, checkExpr, type ExprScope, isCondition } from "./checker-expr.ts";
import { describeType } from "./field-types.ts";
import type { Expr, ProbeSide, ValueType } from "./plan.ts";
import { resolveProbe } from "./probes.ts";

/** Resolves a probe and types its key and filter; null after reporting why it cannot be. */
export function checkProbe(ast: AstProbe, context: CheckContext): ProbeSide | null {
  const resolved = resolveProbe(ast.name, context.catalog, context.userProbes);
  if (!resolved.ok) {
    report(context, resolved.code, resolved.message, ast.nameRange, resolved.notes);
    return null;
  }
  for (const message of resolved.warnings ?? []) {
    context.diagnostics.push({
      severity: "warning",
      code: "indirect-function",
      message,
      range: ast.nameRange,
    });
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
export function checkKeyShapes(sides: ProbeSide[], context: CheckContext): ValueType[] {
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
