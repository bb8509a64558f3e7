// Plan expressions (keys, filters) as C over a probe's arguments, through a field table
// (./tracepoints.ts for tracepoints, ./uprobe-fields.ts for user-space probes).
// Unsupported fields come back as problems, not C.

import type { BuiltinName, Expr, ValueType } from "../plan.ts";
import type { FieldMapping } from "./tracepoints.ts";

export class UnsupportedExpr extends Error {
  constructor(
    message: string,
    readonly expr: Expr,
  ) {
    super(message);
  }
}

/** Each builtin as C, and the header it needs beyond the module's own (lt_module.h). */
const BUILTIN_C: Record<BuiltinName, { text: string; header?: string }> = {
  tid: { text: "current->pid" },
  pid: { text: "current->tgid" },
  comm: { text: "current->comm" },
  cpu: { text: "raw_smp_processor_id()", header: "linux/smp.h" },
  uid: { text: "from_kuid(&init_user_ns, current_uid())", header: "linux/cred.h" },
  cgroup: { text: "lt_current_cgroup_id()" },
};

/** The C type of a value of the plan: the kernel's fixed-size integer names. */
export function cType(type: ValueType): string {
  if (type.kind === "string") return "char";
  return `${type.signed ? "s" : "u"}${type.size * 8}`;
}

export function isString(expr: Expr): boolean {
  return expr.type.kind === "string";
}

function literal(expr: Extract<Expr, { kind: "int" }>): string {
  const value = BigInt(expr.value);
  if (value > 0x7fffffffn) return `${value}ULL`;
  if (value < -0x80000000n) return `${value}LL`;
  return `${value}`;
}

/** A C string literal for `value`. */
export function stringLiteral(value: string): string {
  const escaped = value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, "\\n");
  return `"${escaped}"`;
}

/** Turns expressions of one probe alternative into C. */
export class ExprTranslator {
  /** Headers the translated expressions need (builtins; the tracepoint's come with it). */
  readonly headers = new Set<string>();
  usesArgs = false;
  /** Names of the fields the translated expressions read. */
  readonly fieldsUsed = new Set<string>();

  constructor(private readonly mapping: FieldMapping) {}

  /** C for `expr`; `top` skips the outer parentheses of a binary expression. */
  translate(expr: Expr, top = true): string {
    switch (expr.kind) {
      case "int":
        return literal(expr);
      case "string":
        return stringLiteral(expr.value);
      case "field":
        return this.field(expr);
      case "builtin": {
        const builtin = BUILTIN_C[expr.name];
        if (builtin.header) this.headers.add(builtin.header);
        return builtin.text;
      }
      case "not":
        return `!${this.translate(expr.operand, false)}`;
      case "compare":
        return this.wrap(this.compare(expr), top);
      case "logic": {
        // Comparisons bind tighter than && and ||; only a mix of && and || gets parentheses.
        const side = (e: Expr) =>
          e.kind === "compare" || (e.kind === "logic" && e.op === expr.op)
            ? this.translate(e, true)
            : this.translate(e, false);
        return this.wrap(`${side(expr.left)} ${expr.op} ${side(expr.right)}`, top);
      }
    }
  }

  private wrap(text: string, top: boolean): string {
    return top ? text : `(${text})`;
  }

  private field(expr: Extract<Expr, { kind: "field" }>): string {
    const name = expr.field.name;
    if (name === "common_pid") return "current->pid";
    const text = this.mapping.fields[name];
    if (text === undefined) {
      const known = Object.keys(this.mapping.fields).join(", ");
      throw new UnsupportedExpr(
        `field '${name}' of ${this.mapping.id} is not available to the kmod target (it has: ${known})`,
        expr,
      );
    }
    if (text.includes("args[")) this.usesArgs = true;
    this.fieldsUsed.add(name);
    // A member chain, a call or a cast needs no parentheses; `nr_bytes >> 9` does.
    const atomic = /^(\([\w ]+\))?[\w.\->[\]]+(\(.*\))?$/.test(text) || /^\(.*\)$/.test(text);
    return atomic ? text : `(${text})`;
  }

  private compare(expr: Extract<Expr, { kind: "compare" }>): string {
    const { left, right, op } = expr;
    if (isString(left) || isString(right)) {
      // a __data_loc string is its first size − 1 bytes live on eBPF: compare no further
      const bytes = (e: Expr) =>
        e.kind === "field" && e.field.dataLoc ? e.type.size - 1 : e.type.size;
      const size = Math.min(bytes(left), bytes(right));
      return `strncmp(${this.translate(left)}, ${this.translate(right)}, ${size}) ${op} 0`;
    }
    // C would compare a signed and an unsigned operand as unsigned; the language compares
    // values. Both fit s64 unless one is a u64.
    const mixed =
      left.type.kind === "int" &&
      right.type.kind === "int" &&
      left.type.signed !== right.type.signed &&
      left.kind !== "int" &&
      right.kind !== "int";
    const operand = (e: Expr) => {
      const text = this.translate(e, false);
      if (!mixed) return text;
      return e.type.kind === "int" && e.type.size === 8 && !e.type.signed ? text : `(s64)${text}`;
    };
    return `${operand(left)} ${op} ${operand(right)}`;
  }
}
