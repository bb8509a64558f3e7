// How ltsh sees a tracepoint field: an integer of some width and signedness, a string
// (a fixed char array, or a variable-length `__data_loc char[]` read up to
// DATA_LOC_STRING_SIZE bytes), or unsupported, with the reason. Shared by the checker and `events`.

import type { TracepointField } from "./catalog/types.ts";
import { DATA_LOC_STRING_SIZE, type ValueType } from "./plan.ts";

export function describeType(type: ValueType): string {
  return type.kind === "string"
    ? `a string (char[${type.size}])`
    : `an integer (${type.signed ? "s" : "u"}${type.size * 8})`;
}

/** The type of a field, or an error message when ltsh cannot use it. */
export function fieldType(field: TracepointField): ValueType | string {
  if (field.dataLoc) {
    if (/^__data_loc (const )?(unsigned |signed )?char\[\]$/.test(field.cType))
      return { kind: "string", size: DATA_LOC_STRING_SIZE };
    return `'${field.name}' is a variable-length array (${field.cType}), not supported`;
  }
  if (field.arrayLength !== undefined) {
    if (/^(unsigned |signed )?char$/.test(field.cType) && field.size > 0)
      return { kind: "string", size: field.size };
    return `'${field.name}' is an array (${field.cType}[${field.arrayLength}]), not supported`;
  }
  if (field.size === 1 || field.size === 2 || field.size === 4 || field.size === 8) {
    return { kind: "int", size: field.size, signed: field.signed };
  }
  return `'${field.name}' (${field.cType}, ${field.size} bytes) is not an integer or a string`;
}
