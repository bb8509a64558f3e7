// `ltsh events [PATTERN]`: lists tracepoints matching a glob, or shows one tracepoint's
// fields with their C type, size, offset and signedness.

import type { CatalogIndex } from "../compiler/catalog/index.ts";
import type { Tracepoint } from "../compiler/catalog/types.ts";
import { describeType, fieldType } from "../compiler/field-types.ts";
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
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const pattern = positionals[0] ?? "*";
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
        typeof type === "string" ? "(unsupported)" : describeType(type).replace(/^an? /, "");
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
