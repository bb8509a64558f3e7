// What a hit carries beyond its contexts: the fields `then print(FIELD, ...)` names, checked
// against the tracker's probes, and the key part that is a task id with where each probe
// names that task (grammar/README.md "print" and "Who waited").

import type { AstPrintField } from "./ast.ts";
import type { TracepointField } from "./catalog/types.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { fieldSymbols } from "./field-symbols.ts";
import { fieldType } from "./field-types.ts";
import type { CapturedValue, Expr, KeyTask, ProbeSide, TaskNameSource, ValueType } from "./plan.ts";
import { suggest } from "./suggest.ts";

/** The most fields one `print(...)` names, and the longest string field it carries. */
export const MAX_PRINT_FIELDS = 8;
export const MAX_PRINT_STRING = 64;
/**
 * The most bytes they take together (8 per integer, a string's size rounded up to 8): the
 * BPF programs build them on their 512-byte stack, beside the key.
 */
export const MAX_PRINT_BYTES = 192;

/** The fields of `print(...)` as captured values, after reporting the ones that cannot be. */
export function checkPrintFields(
  fields: AstPrintField[],
  begins: ProbeSide[],
  ends: ProbeSide[],
  context: CheckContext,
): CapturedValue[] {
  if (fields.length > MAX_PRINT_FIELDS) {
    report(
      context,
      "print-fields",
      `print takes at most ${MAX_PRINT_FIELDS} fields; this one names ${fields.length}`,
      fields[MAX_PRINT_FIELDS].range,
    );
    return [];
  }
  const captures: CapturedValue[] = [];
  let bytes = 0;
  for (const field of fields) {
    if (captures.some((c) => c.name === printedName(field))) {
      context.diagnostics.push({
        severity: "warning",
        code: "duplicate-print-field",
        message: `${printedName(field)} is already printed`,
        range: field.range,
      });
      continue;
    }
    const capture = checkPrintField(field, begins, ends, context);
    if (capture === null) continue;
    bytes += capture.type.kind === "int" ? 8 : (capture.type.size + 7) & ~7;
    if (bytes > MAX_PRINT_BYTES) {
      report(
        context,
        "print-field-size",
        `print carries at most ${MAX_PRINT_BYTES} bytes of fields (8 per integer, a string's size); with '${field.name}' these take ${bytes}`,
        field.range,
      );
      return [];
    }
    captures.push(capture);
  }
  return captures;
}

/** The name the hit shows: `prio`, or `end.prio` when the side was chosen. */
function printedName(field: AstPrintField): string {
  return field.side ? `${field.side.name}.${field.name}` : field.name;
}

function checkPrintField(
  field: AstPrintField,
  allBegins: ProbeSide[],
  allEnds: ProbeSide[],
  context: CheckContext,
): CapturedValue | null {
  const side = field.side?.name;
  if (field.side && side !== "begin" && side !== "end") {
    report(
      context,
      "print-field-side",
      `'${side}.' is not a side of the pair: write begin.${field.name} or end.${field.name}`,
      field.side.range,
    );
    return null;
  }
  const begins = side === "end" ? [] : allBegins;
  const ends = side === "begin" ? [] : allEnds;
  const sides = [...begins, ...ends];
  const found = sides.flatMap((s) => s.probe.fields.filter((f) => f.name === field.name));
  if (found.length === 0) {
    const names = [...new Set(sides.flatMap((s) => s.probe.fields.filter((f) => !f.common)))];
    const hint = suggest(
      field.name,
      names.map((f) => f.name),
      2,
    ).map((s) => `did you mean ${s}?`);
    const probes = [...new Set(sides.map((s) => s.probe.name))].join(" or ");
    const which = side ? `the ${side} probe has no` : "neither the begin nor the end probe has a";
    report(context, "print-field", `${which} field '${field.name}' (${probes})`, field.range, hint);
    return null;
  }
  let type: ValueType | null = null;
  for (const f of found) {
    const t = printableType(f, field, context);
    if (t === null) return null;
    type = widest(type, t, field, context);
    if (type === null) return null;
  }
  const read = (s: ProbeSide) => fieldExpr(s, field.name, type!);
  const symbolic = sides.find((s) => fieldSymbols(s.probe, field.name) !== null);
  return {
    name: printedName(field),
    type: type!,
    begins: side === "end" ? allBegins.map(() => null) : allBegins.map(read),
    ends: side === "begin" ? allEnds.map(() => null) : allEnds.map(read),
    symbols: symbolic ? fieldSymbols(symbolic.probe, field.name) : null,
    shown: true,
  };
}

function printableType(
  f: TracepointField,
  field: AstPrintField,
  context: CheckContext,
): ValueType | null {
  const type = fieldType(f);
  if (typeof type === "string") {
    report(context, "print-field-type", `cannot print ${type}`, field.range);
    return null;
  }
  if (type.kind === "string" && type.size > MAX_PRINT_STRING) {
    report(
      context,
      "print-field-size",
      `'${f.name}' is a ${type.size}-byte string; print carries strings of at most ${MAX_PRINT_STRING} bytes`,
      field.range,
    );
    return null;
  }
  return type;
}

/** Ints are carried as 64 bits; strings at the largest size. An int and a string: an error. */
function widest(
  a: ValueType | null,
  b: ValueType,
  field: AstPrintField,
  context: CheckContext,
): ValueType | null {
  const carried: ValueType = b.kind === "int" ? { kind: "int", size: 8, signed: b.signed } : b;
  if (a === null) return carried;
  if (a.kind !== carried.kind) {
    report(
      context,
      "print-field-type",
      `'${field.name}' is an integer on one probe and a string on another`,
      field.range,
    );
    return null;
  }
  return a.kind === "string" && carried.kind === "string" && carried.size > a.size ? carried : a;
}

/** The side's field of that name as an expression, or null when its probe has none. */
function fieldExpr(side: ProbeSide, name: string, carried: ValueType): Expr | null {
  const field = side.probe.fields.find((f) => f.name === name);
  if (field === undefined) return null;
  const own = fieldType(field);
  const type = typeof own === "string" ? carried : own;
  return { kind: "field", field, type, range: side.range };
}

// ---------------------------------------------------------------- the key's task

/** A task id: the builtins tid and pid, a field of the kernel's pid_t type, or one named pid. */
function isTaskId(e: Expr): boolean {
  if (e.kind === "builtin") return e.name === "tid" || e.name === "pid";
  return e.kind === "field" && e.type.kind === "int" && isPidField(e.field);
}

function isPidField(f: TracepointField): boolean {
  return !f.common && (f.cType === "pid_t" || f.name === "pid");
}

/**
 * The first key part every begin and end keys by a task id, with where each probe names it:
 * `next_pid` by `next_comm`, `pid` by `comm` (the char array beside it), `$tid` by the
 * event's task. Comm fields are appended to `captures`. Null when no part is a task id.
 */
export function keyTaskOf(
  begins: ProbeSide[],
  ends: ProbeSide[],
  captures: CapturedValue[],
): KeyTask | null {
  const sides = [...begins, ...ends];
  const parts = sides[0]?.key.length ?? 0;
  for (let index = 0; index < parts; index++) {
    if (!sides.every((s) => s.key[index] !== undefined && isTaskId(s.key[index]))) continue;
    const comms = sides.map((s) => commField(s, s.key[index]));
    let capture = -1;
    if (comms.some((c) => c !== null)) {
      const size = Math.max(...comms.map((c) => c?.size ?? 0));
      const type: ValueType = { kind: "string", size };
      const exprOf = (c: TracepointField | null, s: ProbeSide): Expr | null =>
        c && { kind: "field", field: c, type: { kind: "string", size: c.size }, range: s.range };
      capture = captures.length;
      captures.push({
        name: "key_comm",
        type,
        begins: begins.map((s, i) => exprOf(comms[i], s)),
        ends: ends.map((s, i) => exprOf(comms[begins.length + i], s)),
        symbols: null,
        shown: false,
      });
    }
    const source = (s: ProbeSide, i: number): TaskNameSource => {
      const key = s.key[index];
      if (key.kind === "builtin") return { kind: key.name === "tid" ? "thread" : "process" };
      return comms[i] !== null ? { kind: "capture", capture } : null;
    };
    return {
      index,
      begins: begins.map((s, i) => source(s, i)),
      ends: ends.map((s, i) => source(s, begins.length + i)),
    };
  }
  return null;
}

/** `next_pid` → the probe's `next_comm`, `pid` → `comm`: the char array naming that task. */
function commField(side: ProbeSide, key: Expr): TracepointField | null {
  if (key.kind !== "field") return null;
  const name = key.field.name.replace(/pid$/, "comm");
  if (name === key.field.name) return null;
  const comm = side.probe.fields.find((f) => f.name === name && !f.common);
  if (comm === undefined) return null;
  const type = fieldType(comm);
  return typeof type !== "string" && type.kind === "string" ? comm : null;
}
