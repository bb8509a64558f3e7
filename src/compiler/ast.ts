// The ltsh AST: what the user wrote, with source ranges, before any name is resolved.
// Built from the CST by ./ast-builder.ts; checked and typed by ./checker.ts.

import type { SourceRange } from "./diagnostic.ts";
import type { CompareOp, LogicOp } from "./plan.ts";

/** `200us`, `8MiB`, `4096`, `-5ms`: the unit is null for plain integers. */
export interface Quantity {
  value: bigint;
  unit: string | null;
  text: string;
  range: SourceRange;
}

export interface StringValue {
  value: string;
  range: SourceRange;
}

export type AstExpr =
  | { kind: "number"; quantity: Quantity; range: SourceRange }
  | { kind: "string"; value: string; range: SourceRange }
  /** `name` (field, else builtin), `$name` (builtin), `args.name` (field). */
  | { kind: "name"; name: string; form: "bare" | "builtin" | "field"; range: SourceRange }
  | { kind: "not"; operand: AstExpr; range: SourceRange }
  | { kind: "compare"; op: CompareOp; left: AstExpr; right: AstExpr; range: SourceRange }
  | { kind: "logic"; op: LogicOp; left: AstExpr; right: AstExpr; range: SourceRange };

export interface AstProbe {
  /** As written: "sched_wakeup" or "sched:sched_wakeup". */
  name: string;
  nameRange: SourceRange;
  keys: AstExpr[];
  filter: AstExpr | null;
  range: SourceRange;
}

export interface AstAction {
  name: string;
  nameRange: SourceRange;
  argument: StringValue | null;
  range: SourceRange;
}

export type AstClause =
  | { kind: "threshold"; quantity: Quantity; range: SourceRange }
  | { kind: "timeout"; quantity: Quantity; range: SourceRange }
  | { kind: "keep"; policy: string; policyRange: SourceRange; range: SourceRange }
  | { kind: "capacity"; quantity: Quantity; range: SourceRange }
  | { kind: "then"; actions: AstAction[]; range: SourceRange };

export interface AstTrack {
  kind: "track";
  name: { text: string; range: SourceRange } | null;
  begins: AstProbe[];
  ends: AstProbe[];
  clauses: AstClause[];
  range: SourceRange;
}

export type AstOptionValue =
  | { kind: "number"; quantity: Quantity; range: SourceRange }
  | { kind: "string"; value: string; range: SourceRange }
  | { kind: "name"; name: string; range: SourceRange };

export interface AstSet {
  kind: "set";
  name: string;
  nameRange: SourceRange;
  values: AstOptionValue[];
  range: SourceRange;
}

export type AstStatement = AstTrack | AstSet;

export interface AstProgram {
  file: string;
  statements: AstStatement[];
}
