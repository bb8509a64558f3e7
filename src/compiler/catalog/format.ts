// Parser for one tracefs `events/CATEGORY/NAME/format` file: the event's id and its fields
// with C type, offset, size and signedness, as the BPF backend needs them.

import type { Tracepoint, TracepointField } from "./types.ts";

const FIELD_LINE = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

/** Parses a format file's text; returns null when it has no `ID:` line (not an event). */
export function parseFormat(category: string, text: string): Tracepoint | null {
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
  if (name === undefined || id === undefined) return null;
  const fields: TracepointField[] = [];
  for (const line of text.split("\n")) {
    const match = FIELD_LINE.exec(line);
    if (match) fields.push(parseField(match[1], +match[2], +match[3], match[4] === "1"));
  }
  fields.sort((a, b) => a.offset - b.offset);
  return { category, name, id: Number(id), fields };
}

/** `unsigned long args[6]` → name args, cType "unsigned long", arrayLength 6. */
function parseField(decl: string, offset: number, size: number, signed: boolean): TracepointField {
  const dataLoc = decl.startsWith("__data_loc ");
  const array = /^(.*?)\s*\b([A-Za-z_]\w*)\s*\[(\d*)\]\s*$/.exec(decl);
  let cType: string;
  let name: string;
  let arrayLength: number | undefined;
  if (array) {
    cType = array[1].trim();
    name = array[2];
    arrayLength = Number(array[3]); // `args[]`: a flexible array, length 0
  } else {
    const scalar = /^(.*?)\s*([A-Za-z_]\w*)\s*$/.exec(decl);
    cType = (scalar?.[1] ?? decl).trim();
    name = scalar?.[2] ?? decl;
  }
  // tracefs prints `__data_loc char[] name`: the brackets belong to the type.
  if (dataLoc) {
    const loc = /^(__data_loc .*?\[\])\s*([A-Za-z_]\w*)$/.exec(decl);
    if (loc) {
      cType = loc[1];
      name = loc[2];
      arrayLength = undefined;
    }
  }
  const field: TracepointField = {
    name,
    cType,
    offset,
    size,
    signed,
    common: name.startsWith("common_"),
  };
  if (arrayLength !== undefined) field.arrayLength = arrayLength;
  if (dataLoc) field.dataLoc = true;
  return field;
}
