// Checks and types one expression (a key or a filter) against the probe's fields and the
// builtins. Name resolution: `args.x` is always the field, `$x` always the builtin, and a
// bare `x` is the field when the event has one, otherwise the builtin.

import type { AstExpr } from "./ast.ts";
import { BUILTINS, findBuiltin } from "./builtins.ts";
import { checkCall, userFieldError } from "./checker-user.ts";
import type { Diagnostic, SourceRange } from "./diagnostic.ts";
import { describeType, fieldType } from "./field-types.ts";
import type { Expr, ProbePlan, ValueType } from "./plan.ts";
import { suggest } from "./suggest.ts";

/** Conditions (comparisons, &&, ||, !) are typed as this one-byte integer holding 0 or 1. */
export const CONDITION_TYPE: ValueType = { kind: "int", size: 1, signed: false };

export interface ExprScope {
  probe: ProbePlan;
  diagnostics: Diagnostic[];
}

export function isCondition(e: Expr): boolean {
  return e.kind === "compare" || e.kind === "logic" || e.kind === "not";
}

function error(
  scope: ExprScope,
  code: string,
  message: string,
  range: SourceRange,
  notes?: string[],
): null {
  scope.diagnostics.push({ severity: "error", code, message, range, ...(notes ? { notes } : {}) });
  return null;
}

export function checkExpr(ast: AstExpr, scope: ExprScope): Expr | null {
  switch (ast.kind) {
    case "number":
      return checkInteger(ast, scope);
    case "string":
      return {
        kind: "string",
        value: ast.value,
        type: { kind: "string", size: Buffer.byteLength(ast.value) + 1 },
        range: ast.range,
      };
    case "name":
      return checkName(ast, scope);
    case "call":
      return checkCall(ast, checkExpr(ast.argument, scope), scope.probe, scope.diagnostics);
    case "not": {
      const operand = checkCondition(ast.operand, scope, "'!' applies to a condition");
      return operand && { kind: "not", operand, type: CONDITION_TYPE, range: ast.range };
    }
    case "logic": {
      const what = `'${ast.op}' joins conditions`;
      const left = checkCondition(ast.left, scope, what);
      const right = checkCondition(ast.right, scope, what);
      return (
        left &&
        right && { kind: "logic", op: ast.op, left, right, type: CONDITION_TYPE, range: ast.range }
      );
    }
    case "compare":
      return checkCompare(ast, scope);
  }
}

/** Checks that an expression is a condition, such as `prio < 100`. */
export function checkCondition(ast: AstExpr, scope: ExprScope, what: string): Expr | null {
  const expr = checkExpr(ast, scope);
  if (expr && !isCondition(expr)) {
    return error(
      scope,
      "not-a-condition",
      `${what}, such as prio < 100; this is ${describeType(expr.type)}`,
      ast.range,
    );
  }
  return expr;
}

function checkInteger(ast: Extract<AstExpr, { kind: "number" }>, scope: ExprScope): Expr | null {
  const { value, unit, text } = ast.quantity;
  if (unit !== null) {
    return error(
      scope,
      "unit-in-expression",
      `'${text}': units belong to thresholds and timeouts, not to comparisons`,
      ast.range,
    );
  }
  if (value > 0xffff_ffff_ffff_ffffn || value < -(2n ** 63n)) {
    return error(scope, "integer-range", `${text} does not fit in 64 bits`, ast.range);
  }
  return {
    kind: "int",
    value: value.toString(),
    type: { kind: "int", size: 8, signed: value < 0n },
    range: ast.range,
  };
}

function checkName(ast: Extract<AstExpr, { kind: "name" }>, scope: ExprScope): Expr | null {
  const { probe } = scope;
  const field = ast.form === "builtin" ? undefined : probe.fields.find((f) => f.name === ast.name);
  const builtin = ast.form === "field" ? undefined : findBuiltin(ast.name);
  if (field) {
    const type = fieldType(field);
    if (typeof type === "string") return error(scope, "unsupported-field", type, ast.range);
    // A field named like a builtin wins without a word: `sched_wakeup(pid)`, the woken task,
    // is the language's own headline example; `$pid` reaches the builtin.
    return { kind: "field", field, type, range: ast.range };
  }
  if (builtin) return { kind: "builtin", name: builtin.name, type: builtin.type, range: ast.range };
  if (ast.form === "builtin") {
    const names = Object.keys(BUILTINS);
    const hint = suggest(ast.name, names, 1).map((s) => `did you mean $${s}?`);
    return error(scope, "unknown-builtin", `unknown builtin '$${ast.name}'`, ast.range, [
      ...hint,
      `builtins: ${names.join(", ")}`,
    ]);
  }
  const userError = userFieldError(ast, probe);
  if (userError !== null) {
    scope.diagnostics.push(userError);
    return null;
  }
  const fields = probe.fields.filter((f) => !f.common).map((f) => f.name);
  const hint = suggest(
    ast.name,
    [...fields, ...(ast.form === "bare" ? Object.keys(BUILTINS) : [])],
    1,
  );
  return error(scope, "unknown-field", `${probe.id} has no field '${ast.name}'`, ast.range, [
    ...hint.map((s) => `did you mean ${s}?`),
    `fields of ${probe.name}: ${fields.join(", ") || "(none)"}${ast.form === "bare" ? `; builtins: ${Object.keys(BUILTINS).join(", ")}` : ""}`,
  ]);
}

function checkCompare(ast: Extract<AstExpr, { kind: "compare" }>, scope: ExprScope): Expr | null {
  const left = checkExpr(ast.left, scope);
  const right = checkExpr(ast.right, scope);
  if (!left || !right) return null;
  for (const side of [left, right]) {
    if (isCondition(side)) {
      return error(
        scope,
        "compare-condition",
        `'${ast.op}' compares values, not conditions: use && or || to join conditions`,
        side.range,
      );
    }
  }
  if (left.type.kind !== right.type.kind) {
    const [text, num] = left.type.kind === "string" ? [left, right] : [right, left];
    return error(
      scope,
      "type-mismatch",
      `cannot compare ${describeOperand(text)} with ${describeOperand(num)}`,
      ast.range,
      ['char arrays compare with strings: comm == "bash"'],
    );
  }
  if (left.type.kind === "string") {
    if (ast.op !== "==" && ast.op !== "!=") {
      return error(
        scope,
        "string-order",
        `strings compare with == and != only, not '${ast.op}'`,
        ast.range,
      );
    }
    for (const [lit, other] of [
      [left, right],
      [right, left],
    ]) {
      if (lit.kind === "string" && other.kind !== "string" && lit.type.size > other.type.size) {
        scope.diagnostics.push({
          severity: "warning",
          code: "string-never-matches",
          message: `"${lit.value}" is longer than ${describeOperand(other)} can hold, so it never matches`,
          range: lit.range,
        });
      }
    }
  }
  return { kind: "compare", op: ast.op, left, right, type: CONDITION_TYPE, range: ast.range };
}

function describeOperand(e: Expr): string {
  if (e.kind === "field")
    return `field '${e.field.name}' (${e.field.cType}${e.field.arrayLength !== undefined ? `[${e.field.arrayLength}]` : ""})`;
  if (e.kind === "builtin") return `builtin '${e.name}' (${describeType(e.type)})`;
  if (e.kind === "int") return `the number ${e.value}`;
  if (e.kind === "string") return `the string "${e.value}"`;
  return describeType(e.type);
}
