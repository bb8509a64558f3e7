// Checks `set NAME = VALUE` against the option table in ./options.ts and converts the value
// to its stored form (events as "category:name", sizes in bytes, durations in ns).

import type { AstOptionValue, AstSet } from "./ast.ts";
import { checkDuration } from "./checker-clauses.ts";
import { type CheckContext, report as reportError } from "./checker-context.ts";
import type { SourceRange } from "./diagnostic.ts";
import { findOption, OPTIONS, type OptionSpec } from "./options.ts";
import type { OptionValue } from "./plan.ts";
import { suggest } from "./suggest.ts";
import { SIZE_UNITS } from "./units.ts";

export interface CheckedOption {
  name: string;
  value: OptionValue;
  range: SourceRange;
}

/** report() of checker-context, returning null for `return report(...)` in option checks. */
function report(
  context: CheckContext,
  code: string,
  message: string,
  range: SourceRange,
  notes?: string[],
): null {
  reportError(context, code, message, range, notes);
  return null;
}

export function checkSet(
  ast: AstSet,
  context: CheckContext,
  earlier: CheckedOption[],
): CheckedOption | null {
  const spec = findOption(ast.name);
  if (!spec) {
    const names = OPTIONS.map((o) => o.name);
    const hint = suggest(ast.name, names, 1).map((s) => `did you mean ${s}?`);
    return report(context, "unknown-option", `unknown option '${ast.name}'`, ast.nameRange, [
      ...hint,
      `options: ${names.join(", ")}`,
    ]);
  }
  const previous = earlier.find((o) => o.name === spec.name);
  if (previous) {
    context.diagnostics.push({
      severity: "warning",
      code: "option-reset",
      message: `${spec.name} was already set at line ${previous.range.line}; this value wins`,
      range: ast.nameRange,
    });
  }
  if (spec.type !== "events" && ast.values.length > 1) {
    return report(
      context,
      "option-value",
      `${spec.name} takes one value, not a list`,
      ast.values[1].range,
    );
  }
  const value =
    spec.type === "events"
      ? checkEvents(ast.values, context)
      : checkScalar(spec, ast.values[0], context);
  if (value === null) return null;
  const problem = checkBounds(spec, value) ?? spec.validate?.(value) ?? null;
  if (problem) return report(context, "option-value", `${spec.name}: ${problem}`, ast.range);
  return { name: spec.name, value, range: ast.range };
}

function checkEvents(values: AstOptionValue[], context: CheckContext): string[] | null {
  const events: string[] = [];
  for (const v of values) {
    if (v.kind === "number")
      return report(context, "option-value", "expected a tracepoint name", v.range);
    const spec = v.kind === "name" ? v.name : v.value;
    const found = context.catalog.find(spec);
    if (!found.ok) {
      const notes =
        found.reason === "unknown"
          ? found.suggestions.map((s) => `did you mean ${s}?`)
          : [`write one of: ${found.candidates.join(", ")}`];
      return report(context, "unknown-tracepoint", `unknown tracepoint '${spec}'`, v.range, notes);
    }
    events.push(`${found.tracepoint.category}:${found.tracepoint.name}`);
  }
  return events;
}

function checkScalar(
  spec: OptionSpec,
  v: AstOptionValue,
  context: CheckContext,
): OptionValue | null {
  if (spec.type === "string")
    return v.kind === "number" ? v.quantity.text : v.kind === "name" ? v.name : v.value;
  if (v.kind !== "number")
    return report(
      context,
      "option-value",
      `${spec.name} takes ${describeOptionType(spec)}`,
      v.range,
    );
  const q = v.quantity;
  if (spec.type === "duration") return checkDuration(q, spec.name, context, true);
  if (spec.type === "count") {
    if (q.unit !== null)
      return report(
        context,
        "option-value",
        `${spec.name} takes a plain number, not ${q.text}`,
        q.range,
      );
    return Number(q.value);
  }
  const scale = q.unit === null ? 1n : SIZE_UNITS[q.unit];
  if (scale === undefined) {
    // People write MB for MiB: point at the binary unit rather than the nearest spelling.
    const binary = Object.keys(SIZE_UNITS).find(
      (u) => u.replace("i", "").toUpperCase() === q.unit!.toUpperCase(),
    );
    const hint = (binary ? [binary] : suggest(q.unit!, Object.keys(SIZE_UNITS), 1)).map(
      (u) => `did you mean ${q.value}${u}?`,
    );
    return report(
      context,
      "size-unit",
      `unknown size unit '${q.unit}'; units: ${Object.keys(SIZE_UNITS).join(", ")}`,
      q.range,
      hint,
    );
  }
  const bytes = q.value * scale;
  return bytes > BigInt(Number.MAX_SAFE_INTEGER)
    ? report(context, "option-value", `${q.text} is too large`, q.range)
    : Number(bytes);
}

function checkBounds(spec: OptionSpec, value: OptionValue): string | null {
  if (typeof value !== "number") return null;
  if (spec.min !== undefined && value < spec.min)
    return `${value} is below the minimum ${spec.min}`;
  if (spec.max !== undefined && value > spec.max)
    return `${value} is above the maximum ${spec.max}`;
  return null;
}

export function describeOptionType(spec: OptionSpec): string {
  return {
    events: "tracepoint names separated by commas",
    size: "a size such as 8MiB (B, KiB, MiB, GiB)",
    duration: "a duration such as 10ms (ns, us, ms, s)",
    count: "a whole number",
    string: "a string",
  }[spec.type];
}
