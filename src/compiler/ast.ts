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
  /** `str(arg0)`: which names are functions is the checker's. */
  | { kind: "call"; name: string; nameRange: SourceRange; argument: AstExpr; range: SourceRange }
  | { kind: "not"; operand: AstExpr; range: SourceRange }
  | { kind: "compare"; op: CompareOp; left: AstExpr; right: AstExpr; range: SourceRange }
  | { kind: "logic"; op: LogicOp; left: AstExpr; right: AstExpr; range: SourceRange };

export interface AstProbe {
  /** As written: "sched_wakeup", "sched:sched_wakeup" or "uprobe:./server:handle". */
  name: string;
  nameRange: SourceRange;
  /** Empty when the key was left out (allowed in a chain). */
  keys: AstExpr[];
  filter: AstExpr | null;
  range: SourceRange;
}

/** A field of `print(...)`: `prio`, or `end.prio` (`side` "end"; any other word is an error). */
export interface AstPrintField {
  name: string;
  side: { name: string; range: SourceRange } | null;
  range: SourceRange;
}

export interface AstAction {
  name: string;
  nameRange: SourceRange;
  argument: StringValue | null;
  /** `print(prev_state, end.prio)`: the fields in parentheses; null when there are none. */
  fields: AstPrintField[] | null;
  range: SourceRange;
}

export type AstClause =
  | { kind: "threshold"; quantity: Quantity; range: SourceRange }
  | { kind: "timeout"; quantity: Quantity; range: SourceRange }
  | { kind: "keep"; policy: string; policyRange: SourceRange; range: SourceRange }
  | { kind: "capacity"; quantity: Quantity; range: SourceRange }
  | { kind: "then"; actions: AstAction[]; range: SourceRange }
  | { kind: "cancel"; probes: AstProbe[]; range: SourceRange };

/** `-> SIDE` pairs by key; `~> SIDE` follows the execution context (a chain). */
export interface AstLink {
  kind: "pair" | "chain";
  /** The arrow itself, where link errors point. */
  arrowRange: SourceRange;
  probes: AstProbe[];
}

export interface AstTrack {
  kind: "track";
  name: { text: string; range: SourceRange } | null;
  /** The first side: a plain tracker's begin, a chain's origin. */
  begins: AstProbe[];
  /** One `->` link for a plain tracker; a chain has at least one `~>`. */
  links: AstLink[];
  until: { policy: string; policyRange: SourceRange; range: SourceRange } | null;
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
