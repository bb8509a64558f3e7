// `ltsh events [PATTERN]`: lists tracepoints matching a glob, or shows one tracepoint's
// fields with their C type, size, offset and signedness; `usdt:PATH` and `uprobe:PATH:GLOB`
// list a binary's USDT probes (with their arguments) and functions.

import type { CatalogIndex } from "../compiler/catalog/index.ts";
import type { Tracepoint } from "../compiler/catalog/types.ts";
import { describeType, fieldType } from "../compiler/field-types.ts";
import { listFunctions, listUsdtProbes } from "../compiler/uprobe/listing.ts";
import { loadCatalogOrReport } from "./check.ts";
import { type Command, parseCommandArgs, UsageError } from "./usage.ts";

export const eventsCommand: Command = {
  name: "events",
  help: `Usage: ltsh events [--catalog FILE] [--all] [PATTERN]

  ltsh events              every tracepoint, as category:name
  ltsh events 'sched*'     tracepoints whose name or category:name matches the glob
                           (* any characters, ? one character)
  ltsh events sched        the tracepoints of one category
  ltsh events sched_switch the fields of one tracepoint: C type, size, offset,
                           signedness, and the type ltsh gives them
  ltsh events usdt:PATH    the USDT probes of a binary and their arguments
                           (usdt:PATH:GLOB for some of them)
  ltsh events 'uprobe:PATH:GLOB'
                           the functions of a binary (uretprobe:… too)
                           PATH: a path, a program on $PATH, or a library (libc)

Options:
  --all           also show the common_* fields every event has
  --catalog FILE  tracepoint catalog (JSON, .gz, tracefs events dir, or "bundled")
  -h, --help      show this help
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      catalog: { type: "string" },
      all: { type: "boolean" },
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (positionals.length > 1)
      throw new UsageError("expected at most one PATTERN (quote globs: 'sched*')");
    const pattern = positionals[0] ?? "*";
    if (USER_SPACE.test(pattern)) return listUserSpace(pattern);
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    // A bare category name (`ltsh events sched`) lists that category.
    const isCategory =
      !pattern.includes(":") && catalog.ids().some((id) => id.startsWith(`${pattern}:`));
    const isGlob = /[*?]/.test(pattern);
    if (!isGlob && !isCategory) return showEvent(catalog, pattern, values.all ?? false);
    const matches = listMatching(catalog, isCategory && !isGlob ? `${pattern}:*` : pattern);
    if (matches.length === 0) {
      process.stderr.write(
        `ltsh events: no tracepoint matches '${pattern}' (catalog: ${catalog.source})\n`,
      );
      return 1;
    }
    process.stdout.write(`${matches.join("\n")}\n`);
    return 0;
  },
};

export function listMatching(catalog: CatalogIndex, pattern: string): string[] {
  const regex = globToRegExp(pattern);
  return catalog.ids().filter((id) => regex.test(id) || regex.test(id.slice(id.indexOf(":") + 1)));
}

const USER_SPACE = /^(usdt|uprobe|uretprobe):/;

/** `usdt:PATH[:GLOB]`, `uprobe:PATH[:GLOB]`, `uretprobe:PATH[:GLOB]` (no GLOB: everything). */
function listUserSpace(spec: string): number {
  const [kind, path, ...rest] = spec.split(":");
  if (!path) {
    const example = kind === "usdt" ? "usdt:PATH" : `'${kind}:PATH:GLOB'`;
    process.stderr.write(`ltsh events: error: name a binary or library: ltsh events ${example}\n`);
    return 1;
  }
  const glob = rest.length > 0 ? rest.join(":") : "*";
  const regex = globToRegExp(glob);
  const filter = {
    test: (name: string) => regex.test(name),
    ...(/[*?]/.test(glob) ? {} : { exact: glob }),
  };
  const listed =
    kind === "usdt"
      ? listUsdtProbes(path, filter)
      : listFunctions(path, filter, kind as "uprobe" | "uretprobe");
  if (!listed.ok) {
    process.stderr.write(`ltsh events: error: ${listed.message}\n`);
    return 1;
  }
  if (listed.value.length === 0) {
    const what = kind === "usdt" ? "USDT probe" : "function";
    process.stderr.write(`ltsh events: error: no ${what} matches '${glob}' in ${path}\n`);
    return 1;
  }
  process.stdout.write(`${listed.value.join("\n")}\n`);
  return 0;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function showEvent(catalog: CatalogIndex, spec: string, all: boolean): number {
  const found = catalog.find(spec);
  if (!found.ok) {
    const hint =
      found.reason === "ambiguous"
        ? `; write one of: ${found.candidates.join(", ")}`
        : found.suggestions.length > 0
          ? `; did you mean ${found.suggestions.join(" or ")}?`
          : "";
    process.stderr.write(`ltsh events: error: ${found.reason} tracepoint '${spec}'${hint}\n`);
    return 1;
  }
  process.stdout.write(formatFields(found.tracepoint, all));
  return 0;
}

export function formatFields(t: Tracepoint, all: boolean): string {
  const rows = t.fields
    .filter((f) => all || !f.common)
    .map((f) => {
      const type = fieldType(f);
      const cType = f.arrayLength !== undefined ? `${f.cType}[${f.arrayLength}]` : f.cType;
      const ltsh =
        typeof type === "string"
          ? "(unsupported)"
          : f.dataLoc
            ? `string (variable length: its first ${type.size - 1} bytes)`
            : describeType(type).replace(/^an? /, "");
      return [f.name, cType, String(f.size), String(f.offset), f.signed ? "yes" : "no", ltsh];
    });
  const table = [["FIELD", "C TYPE", "SIZE", "OFFSET", "SIGNED", "LTSH TYPE"], ...rows];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const lines = table.map((r) =>
    r
      .map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
  return `${t.category}:${t.name} (id ${t.id})\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}
