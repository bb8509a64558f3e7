// Compiles the plan's checked expressions (keys, filters) into closures over a replayed
// event, once per tracker. A value missing from the trace is `undefined`: the filter
// fails and the key is unavailable, so the event is skipped rather than guessed.

import type { TracepointField } from "../compiler/catalog/types.ts";
import { type Expr, USER_STRING_CTYPE, type ValueType } from "../compiler/plan.ts";
import type { TraceEvent } from "./event.ts";
import type { FieldText } from "./fields.ts";

/** Integers are numbers while exact (|v| < 2^53), bigint beyond; char arrays are strings. */
export type Value = number | bigint | string;

export interface EventView {
  event: TraceEvent;
  /** Field texts, parsed on first use; null when the payload is malformed. */
  fields(): FieldText | null;
}

export type Compiled = (view: EventView) => Value | undefined;

const DECIMAL = /^-?\d+$/;
const HEX = /^0x[0-9a-f]+$/i;
const BARE_HEX = /^[0-9a-f]+$/i;

/** Wraps to the C type's width and signedness, as the kernel stored it. */
function fitToType(value: bigint, size: number, signed: boolean): number | bigint {
  const bits = size * 8;
  const fitted = signed ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value);
  const asNumber = Number(fitted);
  return Number.isSafeInteger(asNumber) ? asNumber : fitted;
}

/** A small integer as the C type stores it (wrapped when out of its range). */
function fitSmall(value: number, type: { size: number; signed: boolean }): number | bigint {
  const [min, max] = RANGES[type.signed ? type.size : type.size + 8];
  return value >= min && value <= max ? value : fitToType(BigInt(value), type.size, type.signed);
}

/** [min, max] of each C integer type exact in a double: index size (signed), size + 8 (unsigned). */
const RANGES: [number, number][] = [];
for (const size of [1, 2, 4, 8]) {
  const bits = size * 8;
  RANGES[size] = bits >= 53 ? [-(2 ** 53), 2 ** 53] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  RANGES[size + 8] = [0, bits >= 53 ? 2 ** 53 : 2 ** bits - 1];
}

/** Short decimal integers without a regex or a split: the common case of the hot path. */
function smallDecimal(text: string): number | undefined {
  const length = text.length;
  if (length === 0 || length > 15) return undefined;
  const negative = text.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  if (i === length) return undefined;
  let value = 0;
  for (; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/**
 * An integer field's printed text: decimal, 0x-hex, or bare hex for pointers (%p/%px
 * print no 0x). "(nil)" is 0. Returns undefined for text that is not an integer.
 */
export function intFromText(
  text: string,
  type: { size: number; signed: boolean },
  pointer = false,
) {
  const small = smallDecimal(text);
  const token = small !== undefined ? text : text.trim().split(" ", 1)[0];
  if (small !== undefined || (DECIMAL.test(token) && token.length < 16)) {
    return fitSmall(small ?? +token, type);
  }
  if (DECIMAL.test(token)) return fitToType(BigInt(token), type.size, type.signed);
  if (HEX.test(token)) return fitToType(BigInt(token), type.size, type.signed);
  if (pointer && BARE_HEX.test(token))
    return fitToType(BigInt(`0x${token}`), type.size, type.signed);
  if (token === "(nil)") return 0;
  return undefined;
}

function fieldReader(field: TracepointField, type: ValueType): Compiled {
  const name = field.name;
  // The common_* header is the line's own context.
  if (name === "common_pid") return (view) => view.event.tid;
  const pointer = field.cType.includes("*") || /addr$/.test(name);
  if (type.kind === "string") {
    if (field.cType === USER_STRING_CTYPE) return (view) => userString(view.fields()?.get(name));
    if (field.dataLoc) return (view) => clipped(view.fields()?.get(name), type.size - 1);
    return (view) => view.fields()?.get(name);
  }
  return (view) => {
    const fields = view.fields();
    if (fields === null) return undefined;
    const small = fields.getInt?.(name);
    if (small !== undefined) return fitSmall(small, type);
    const text = fields.get(name);
    return text === undefined ? undefined : intFromText(text, type, pointer);
  };
}

/**
 * uprobe_events prints a `ustring` fetch argument quoted, and `(fault)` when the pointer
 * could not be read, where the live backends read an empty string.
 */
function userString(text: string | undefined): string | undefined {
  if (text === undefined || text === "(fault)") return text && "";
  return text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** A variable-length string as the live backends read it: its first `most` bytes. */
function clipped(text: string | undefined, most: number): string | undefined {
  if (text === undefined || text.length * 3 <= most) return text;
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= most ? text : bytes.subarray(0, most).toString("utf8");
}

export type Warn = (message: string) => void;

function builtinReader(name: string, warn: Warn): Compiled {
  switch (name) {
    case "tid":
      return (view) => view.event.tid;
    case "cpu":
      return (view) => view.event.cpu;
    case "comm":
      return (view) => view.event.comm;
    case "pid":
      return (view) => {
        if (view.event.pid >= 0) return view.event.pid;
        warn(
          "pid (thread-group id) is not in this trace (record with options/record-tgid); using tid",
        );
        return view.event.tid;
      };
    default:
      return () => {
        warn(`${name} is unavailable in replay: events that need it are skipped`);
        return undefined;
      };
  }
}

function sameKind(a: Value, b: Value): [Value, Value] {
  if (typeof a === typeof b) return [a, b];
  if (typeof a === "string" || typeof b === "string") return [String(a), String(b)];
  return [BigInt(a), BigInt(b)];
}

function compare(op: string, a: Value, b: Value): boolean {
  const [x, y] = sameKind(a, b);
  switch (op) {
    case "==":
      return x === y;
    case "!=":
      return x !== y;
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

export function truthy(value: Value | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === "string") return value.length > 0;
  // biome-ignore lint/suspicious/noDoubleEquals: 0 and 0n are both false
  return value != 0;
}

export function compileExpr(expr: Expr, warn: Warn): Compiled {
  switch (expr.kind) {
    case "int": {
      const big = BigInt(expr.value);
      const value = Number.isSafeInteger(Number(big)) ? Number(big) : big;
      return () => value;
    }
    case "string": {
      const value = expr.value;
      return () => value;
    }
    case "field":
      return fieldReader(expr.field, expr.type);
    case "builtin":
      return builtinReader(expr.name, warn);
    case "not": {
      const operand = compileExpr(expr.operand, warn);
      return (view) => {
        const value = operand(view);
        return value === undefined ? undefined : truthy(value) ? 0 : 1;
      };
    }
    case "compare": {
      const left = compileExpr(expr.left, warn);
      const right = compileExpr(expr.right, warn);
      const op = expr.op;
      return (view) => {
        const a = left(view);
        const b = a === undefined ? undefined : right(view);
        return b === undefined || a === undefined ? undefined : compare(op, a, b) ? 1 : 0;
      };
    }
    case "logic": {
      const left = compileExpr(expr.left, warn);
      const right = compileExpr(expr.right, warn);
      if (expr.op === "&&") return (view) => (truthy(left(view)) && truthy(right(view)) ? 1 : 0);
      return (view) => (truthy(left(view)) || truthy(right(view)) ? 1 : 0);
    }
  }
}
