// What the checker says about user-space probes' values: `argN` past the probe's arguments,
// `retval` at an entry, and `str(EXPR)`, which reads a NUL-terminated user string through
// a pointer-sized argument (for keys and ==/!= filters).

import type { AstExpr } from "./ast.ts";
import type { CheckedTrack } from "./checker.ts";
import type { Diagnostic } from "./diagnostic.ts";
import { describeType } from "./field-types.ts";
import { type Expr, type ProbePlan, USER_STRING_CTYPE, USER_STRING_SIZE } from "./plan.ts";

type CallAst = Extract<AstExpr, { kind: "call" }>;
type NameAst = Extract<AstExpr, { kind: "name" }>;

export const FUNCTIONS = ["str"];

/** A precise error for a name a user-space probe lacks, or null for the generic one. */
export function userFieldError(ast: NameAst, probe: ProbePlan): Diagnostic | null {
  const user = probe.user;
  if (user === undefined || ast.form === "builtin") return null;
  const range = ast.range;
  const argument = /^arg(\d+)$/.exec(ast.name);
  if (argument !== null && user.kind !== "uretprobe") {
    const count = probe.fields.length;
    const has = count === 0 ? "none" : count === 1 ? "arg0 only" : `arg0 to arg${count - 1}`;
    const what =
      user.kind === "uprobe"
        ? `a uprobe's arguments (the calling convention's registers): ${has}`
        : `the arguments of USDT probe ${user.spec}: its note declares ${has}`;
    return {
      severity: "error",
      code: "argument-range",
      message: `${ast.name} is beyond ${what}`,
      range,
    };
  }
  if (ast.name === "retval" && user.kind !== "uretprobe") {
    const fix =
      user.kind === "uprobe"
        ? `: write uretprobe:${user.path}:${user.spec}`
        : " (USDT probes have none)";
    return {
      severity: "error",
      code: "retval-at-entry",
      message: `retval exists at a function's return only${fix}`,
      range,
    };
  }
  if (argument !== null) {
    return {
      severity: "error",
      code: "argument-at-return",
      message: `a uretprobe sees the return value (retval), not ${ast.name}: the registers held the arguments at entry only`,
      range,
      notes: ["key the pair by $tid and read the arguments at the uprobe"],
    };
  }
  return null;
}

/**
 * `str(arg0)`: a field of a user-space probe wide enough to be a pointer becomes a string
 * field of USER_STRING_SIZE bytes (named `arg0_str`: the name the recorder gives its
 * fetch argument). `checked` is the argument, already checked.
 */
export function checkCall(
  ast: CallAst,
  checked: Expr | null,
  probe: ProbePlan,
  diagnostics: Diagnostic[],
): Expr | null {
  const fail = (code: string, message: string, range = ast.range, notes?: string[]) => {
    diagnostics.push({ severity: "error", code, message, range, ...(notes ? { notes } : {}) });
    return null;
  };
  if (ast.name !== "str")
    return fail("unknown-function", `unknown function '${ast.name}'`, ast.nameRange, [
      `functions: ${FUNCTIONS.join(", ")}`,
    ]);
  if (checked === null) return null;
  const pointer =
    checked.kind === "field" &&
    probe.user !== undefined &&
    checked.type.kind === "int" &&
    checked.type.size === 8;
  if (!pointer || checked.kind !== "field") {
    const message =
      probe.user === undefined
        ? `str() reads user-space strings at uprobe, uretprobe and usdt probes; ${probe.id} is a kernel tracepoint`
        : `str() reads a string through a pointer, a 64-bit argument (arg0…, retval); this is ${describeType(checked.type)}`;
    return fail("str-not-pointer", message, ast.argument.range);
  }
  const size = USER_STRING_SIZE;
  const field = {
    ...checked.field,
    name: `${checked.field.name}_str`,
    cType: USER_STRING_CTYPE,
    size,
    arrayLength: size,
    signed: false,
  };
  return { kind: "field", field, type: { kind: "string", size }, range: ast.range };
}

/** `then stack` records the kernel stack: at a user-space end probe, only the trap's. */
export function userStackWarning(tracker: CheckedTrack, diagnostics: Diagnostic[]): void {
  const stack = tracker.actions?.find((a) => a.kind === "stack");
  const user = tracker.ends.find((side) => side.probe.user !== undefined);
  if (stack === undefined || user === undefined) return;
  diagnostics.push({
    severity: "warning",
    code: "stack-at-user-probe",
    message: `stack records the kernel stack of the end event: at ${user.probe.user!.kind}:${user.probe.user!.spec} that is the breakpoint trap's, not the program's`,
    range: stack.range,
  });
}
