// A validator for LAMI 1.0 output written from the spec (lttng/lami-spec, lami.adoc): the
// metadata object, the results object with its tables checked against their table classes,
// the error object, progress lines, and every data object class. Returns the problems found
// as "path: what is wrong" strings (none: valid).

type Json = unknown;
type Problems = string[];

const NUMBER_CLASSES = ["number", "ratio", "timestamp", "duration", "size", "bitrate"];
const OBJECT_CLASSES = [
  "unknown",
  "bool",
  "string",
  "time-range",
  "syscall",
  "process",
  "path",
  "fd",
  "irq",
  "cpu",
  "disk",
  "part",
  "netif",
  ...NUMBER_CLASSES,
];
const COLUMN_CLASSES = [...OBJECT_CLASSES.filter((c) => c !== "unknown"), "mixed"];

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: Json) => typeof v === "number" || typeof v === "bigint";
const isInteger = (v: Json) =>
  typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
const isString = (v: Json) => typeof v === "string";
const isBound = (v: Json) => isNumber(v) || v === "-inf" || v === "+inf";

function need(problems: Problems, path: string, ok: boolean, what: string): void {
  if (!ok) problems.push(`${path}: ${what}`);
}

function optional(object: Record<string, Json>, key: string, check: (v: Json) => boolean) {
  return !(key in object) || check(object[key]);
}

/** A data object of any class (or of `expected`, a column's class). */
export function validateDataObject(value: Json, path: string, expected = "mixed"): Problems {
  const problems: Problems = [];
  if (!isObject(value) || !isString(value.class)) {
    // Plain JSON values are allowed in cells; a column of a class wants its objects.
    return expected === "mixed" ? [] : [`${path}: a ${expected} object expected`];
  }
  const cls = value.class as string;
  need(problems, path, OBJECT_CLASSES.includes(cls), `unknown class ${cls}`);
  const fits =
    expected === "mixed" ||
    cls === "unknown" ||
    cls === expected ||
    (expected === "number" && NUMBER_CLASSES.includes(cls));
  need(problems, path, fits, `class ${cls} in a ${expected} column`);
  if (NUMBER_CLASSES.includes(cls)) {
    const hasValue = "value" in value;
    need(problems, path, !hasValue || isNumber(value.value), "value must be a number");
    need(
      problems,
      path,
      hasValue || ("low" in value && "high" in value),
      "value, or low and high, required",
    );
    need(problems, path, optional(value, "low", isBound), "low must be a number or ±inf");
    need(problems, path, optional(value, "high", isBound), "high must be a number or ±inf");
    return problems;
  }
  const requireKey = (key: string, check: (v: Json) => boolean, what: string) =>
    need(problems, `${path}.${key}`, key in value && check(value[key]), what);
  switch (cls) {
    case "bool":
      requireKey("value", (v) => typeof v === "boolean", "a boolean");
      break;
    case "string":
      requireKey("value", isString, "a string");
      break;
    case "time-range":
      for (const key of ["begin", "end"]) {
        requireKey(key, isObject, "a timestamp object");
        problems.push(...validateDataObject(value[key], `${path}.${key}`, "timestamp"));
        need(
          problems,
          `${path}.${key}`,
          (value[key] as { class?: Json })?.class === "timestamp",
          "a timestamp",
        );
      }
      break;
    case "syscall":
    case "disk":
    case "part":
    case "netif":
      requireKey("name", isString, "a string");
      break;
    case "process":
      need(problems, path, optional(value, "name", isString), "name must be a string");
      need(problems, path, optional(value, "pid", isInteger), "pid must be an integer");
      need(problems, path, optional(value, "tid", isInteger), "tid must be an integer");
      break;
    case "path":
      requireKey("path", isString, "a string");
      break;
    case "fd":
      requireKey("fd", isInteger, "an integer");
      break;
    case "irq":
      requireKey("nr", isInteger, "an integer");
      need(
        problems,
        path,
        optional(value, "hard", (v) => typeof v === "boolean"),
        "hard: boolean",
      );
      need(problems, path, optional(value, "name", isString), "name must be a string");
      break;
    case "cpu":
      requireKey("id", isInteger, "an integer");
      break;
  }
  return problems;
}

function validateVersion(value: Json, path: string): Problems {
  const problems: Problems = [];
  if (!isObject(value)) return [`${path}: a version object expected`];
  for (const key of ["major", "minor", "patch"])
    need(problems, path, optional(value, key, isInteger), `${key} must be an integer`);
  need(problems, path, optional(value, "extra", isString), "extra must be a string");
  need(problems, path, !("minor" in value) || "major" in value, "minor without major");
  need(problems, path, !("patch" in value) || "minor" in value, "patch without minor");
  return problems;
}

function validateTableClass(value: Json, path: string, named: boolean): Problems {
  const problems: Problems = [];
  if (!isObject(value)) return [`${path}: a table class object expected`];
  need(problems, path, optional(value, "title", isString), "title must be a string");
  need(problems, path, named || optional(value, "inherit", isString), "inherit: a class name");
  const columns = value["column-descriptions"];
  if (columns === undefined) return problems;
  if (!Array.isArray(columns)) return [...problems, `${path}: column-descriptions: an array`];
  for (const [i, column] of columns.entries()) {
    const at = `${path}.column-descriptions[${i}]`;
    if (!isObject(column)) {
      problems.push(`${at}: an object expected`);
      continue;
    }
    need(problems, at, optional(column, "title", isString), "title must be a string");
    need(
      problems,
      at,
      optional(column, "class", (c) => COLUMN_CLASSES.includes(c as string)),
      `unknown class ${column.class}`,
    );
    need(problems, at, optional(column, "unit", isString), "unit must be a string");
    need(
      problems,
      at,
      !("unit" in column) || column.class === "number",
      "a unit only on number columns",
    );
  }
  return problems;
}

export function validateMetadata(value: Json): Problems {
  if (!isObject(value)) return ["metadata: an object expected"];
  const problems: Problems = [];
  const mi = value["mi-version"];
  need(
    problems,
    "mi-version",
    isObject(mi) && mi.major === 1 && mi.minor === 0,
    "{major: 1, minor: 0}",
  );
  if ("version" in value) problems.push(...validateVersion(value.version, "version"));
  for (const key of ["title", "description", "url"])
    need(problems, key, optional(value, key, isString), "a string");
  for (const key of ["authors", "tags"])
    need(
      problems,
      key,
      optional(value, key, (v) => Array.isArray(v) && v.every(isString)),
      "an array of strings",
    );
  const classes = value["table-classes"];
  if (!isObject(classes) || Object.keys(classes).length === 0) {
    problems.push("table-classes: at least one table class");
    return problems;
  }
  for (const [name, tableClass] of Object.entries(classes))
    problems.push(...validateTableClass(tableClass, `table-classes.${name}`, false));
  return problems;
}

/** The columns a result table's class stands for (inherit resolved against the metadata). */
function columnsOf(cls: Json, metadata: Record<string, Json>): Json[] | string {
  const classes = metadata["table-classes"] as Record<string, Record<string, Json>>;
  if (isString(cls)) {
    const found = classes[cls as string];
    return found ? ((found["column-descriptions"] as Json[]) ?? []) : `no table class ${cls}`;
  }
  if (!isObject(cls)) return "class: a name or a table class object";
  if (Array.isArray(cls["column-descriptions"])) return cls["column-descriptions"] as Json[];
  if (isString(cls.inherit)) return columnsOf(cls.inherit, metadata);
  return [];
}

export function validateResults(value: Json, metadata: Record<string, Json>): Problems {
  if (!isObject(value) || !Array.isArray(value.results)) return ["results: an array expected"];
  const problems: Problems = [];
  for (const [t, table] of value.results.entries()) {
    const at = `results[${t}]`;
    if (!isObject(table)) {
      problems.push(`${at}: an object expected`);
      continue;
    }
    const range = table["time-range"];
    need(problems, at, isObject(range) && range.class === "time-range", "time-range required");
    problems.push(...validateDataObject(range, `${at}.time-range`, "time-range"));
    if (isObject(table.class))
      problems.push(...validateTableClass(table.class, `${at}.class`, false));
    const columns = columnsOf(table.class, metadata);
    if (typeof columns === "string") {
      problems.push(`${at}: ${columns}`);
      continue;
    }
    if (!Array.isArray(table.data)) {
      problems.push(`${at}.data: an array of rows`);
      continue;
    }
    for (const [r, row] of table.data.entries()) {
      if (!Array.isArray(row)) {
        problems.push(`${at}.data[${r}]: a row (array) expected`);
        continue;
      }
      need(
        problems,
        `${at}.data[${r}]`,
        row.length === columns.length,
        `${columns.length} cells expected`,
      );
      for (const [c, cell] of row.entries()) {
        if (cell === null) continue;
        const expected = ((columns[c] as Record<string, Json>)?.class as string) ?? "mixed";
        problems.push(...validateDataObject(cell, `${at}.data[${r}][${c}]`, expected));
      }
    }
  }
  return problems;
}

export function validateError(value: Json): Problems {
  if (!isObject(value)) return ["error: an object expected"];
  const problems: Problems = [];
  need(problems, "error-message", isString(value["error-message"]), "a string");
  need(
    problems,
    "error-code",
    optional(value, "error-code", (v) => isString(v) || isNumber(v)),
    "a string or a number",
  );
  return problems;
}

/** Progress lines: "VALUE[ MESSAGE]", VALUE in [0, 1] or "*" (then "*" on every line). */
export function validateProgress(lines: string[]): Problems {
  const problems: Problems = [];
  const stars = lines.filter((line) => line.split(" ")[0] === "*").length;
  need(problems, "progress", stars === 0 || stars === lines.length, "all '*' or none");
  for (const line of lines) {
    const value = line.split(" ")[0];
    const ok = value === "*" || (/^\d+(\.\d+)?$/.test(value) && Number(value) <= 1);
    need(problems, `progress '${line}'`, ok, "a value in [0, 1] or '*'");
  }
  return problems;
}

/** JSON.parse keeping integers past 2^53 exact (LAMI timestamps are epoch nanoseconds). */
export function parseLami(text: string): Json {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === "number" &&
    !Number.isSafeInteger(value) &&
    context?.source &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}
