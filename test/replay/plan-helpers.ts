// Hand-built TrackerPlans for interpreter tests that must not depend on the front end.

import type { TracepointField } from "../../src/compiler/catalog/types.ts";
import type { SourceRange } from "../../src/compiler/diagnostic.ts";
import type {
  Action,
  BuiltinName,
  CompareOp,
  Expr,
  ProbePlan,
  ProbeSide,
  TrackerPlan,
  ValueType,
} from "../../src/compiler/plan.ts";

const range: SourceRange = {
  file: "t.lt",
  line: 1,
  col: 1,
  endLine: 1,
  endCol: 1,
  offset: 0,
  endOffset: 0,
};
const i32: ValueType = { kind: "int", size: 4, signed: true };
const u64: ValueType = { kind: "int", size: 8, signed: false };
const comm: ValueType = { kind: "string", size: 16 };

function intField(name: string, type = i32, cType = "int"): TracepointField {
  return {
    name,
    cType,
    offset: 0,
    size: type.kind === "int" ? type.size : 16,
    signed: type.kind === "int" && type.signed,
    common: false,
  };
}

export function probe(id: string, fields: TracepointField[] = []): ProbePlan {
  const [category, name] = id.split(":");
  return { id, category, name, eventId: 0, fields };
}

export function field(name: string, type: ValueType = i32, cType = "int"): Expr {
  const f =
    type.kind === "string"
      ? { ...intField(name), cType: "char", size: type.size, arrayLength: type.size }
      : intField(name, type, cType);
  return { kind: "field", field: f, type, range };
}

export const fieldU64 = (name: string, cType = "u64") => field(name, u64, cType);
export const fieldStr = (name: string) => field(name, comm);

export function builtin(name: BuiltinName): Expr {
  return { kind: "builtin", name, type: name === "comm" ? comm : i32, range };
}

export function int(value: number | bigint): Expr {
  return { kind: "int", value: String(value), type: i32, range };
}

export function str(value: string): Expr {
  return { kind: "string", value, type: comm, range };
}

export function cmp(op: CompareOp, left: Expr, right: Expr): Expr {
  return { kind: "compare", op, left, right, type: i32, range };
}

export function side(probeId: string, key: Expr[], filter: Expr | null = null): ProbeSide {
  return { probe: probe(probeId), key, filter, range };
}

export function tracker(
  name: string,
  begins: ProbeSide[],
  ends: ProbeSide[],
  options: Partial<Omit<TrackerPlan, "name" | "begins" | "ends">> & { actions?: Action[] } = {},
): TrackerPlan {
  return {
    name,
    begins,
    ends,
    keyTypes: begins[0].key.map((k) => k.type),
    thresholdNs: null,
    timeoutNs: null,
    keep: "first",
    capacity: 8192,
    actions: [{ kind: "print", range }],
    range,
    source: "",
    ...options,
  };
}

export function action(kind: "print" | "snapshot" | "stack"): Action {
  return { kind, range };
}

export function execAction(argv: string[]): Action {
  return { kind: "exec", argv, range };
}
