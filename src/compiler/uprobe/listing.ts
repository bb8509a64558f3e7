// What `ltsh events usdt:PATH[:PATTERN]` and `ltsh events 'uprobe:PATH:PATTERN'` print: a
// binary's USDT probes with their decoded arguments, or its functions. The caller passes
// the name filter (a glob in the command), so this layer needs no notion of patterns.

import { type ElfResult, withElf } from "./elf.ts";
import { readFunctions } from "./elf-symbols.ts";
import { resolveBinary } from "./resolve-path.ts";
import { findFunction } from "./symbols.ts";
import { describeUsdtArgument } from "./usdt-args.ts";
import { findUsdtProbe } from "./usdt-lookup.ts";
import { readUsdtProbes, type UsdtProbe } from "./usdt-notes.ts";

/** Which names to list; `exact` (a pattern without wildcards) gets "did you mean" errors. */
export interface NameFilter {
  test(name: string): boolean;
  exact?: string;
}

/** "usdt:PATH:provider:name", then one indented line per argument. */
export function listUsdtProbes(pathSpec: string, filter: NameFilter): ElfResult<string[]> {
  const path = resolveBinary(pathSpec);
  if (!path.ok) return path;
  const probes = withElf(path.value, readUsdtProbes);
  if (!probes.ok) return probes;
  if (probes.value.length === 0)
    return { ok: false, message: `${path.value} has no USDT probes (no .note.stapsdt section)` };
  const groups = new Map<string, UsdtProbe[]>();
  for (const probe of probes.value) {
    const id = `${probe.provider}:${probe.name}`;
    if (filter.test(id) || filter.test(probe.name))
      groups.set(id, [...(groups.get(id) ?? []), probe]);
  }
  if (groups.size === 0 && filter.exact !== undefined) {
    const found = findUsdtProbe(path.value, probes.value, filter.exact);
    if (!found.ok) return found;
  }
  const lines: string[] = [];
  for (const [id, sites] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const notes = [
      sites.length > 1 ? `${sites.length} sites` : "",
      sites[0].semaphore !== 0 ? "semaphore" : "",
    ].filter(Boolean);
    lines.push(`usdt:${path.value}:${id}${notes.length > 0 ? `  (${notes.join(", ")})` : ""}`);
    lines.push(...argumentLines(sites[0]));
  }
  return { ok: true, value: lines };
}

function argumentLines(probe: UsdtProbe): string[] {
  if (!probe.arguments.ok) return [`  ${probe.argumentText}  (${probe.arguments.message})`];
  const rows = probe.arguments.value.map((a, i) => [`arg${i}`, a.text, describeUsdtArgument(a)]);
  const width = Math.max(0, ...rows.map((r) => r[1].length));
  return rows.map(
    ([name, text, description]) => `  ${name}  ${text.padEnd(width)}  ${description}`,
  );
}

/** "uprobe:PATH:function" for each function whose name passes the filter, sorted. */
export function listFunctions(
  pathSpec: string,
  filter: NameFilter,
  kind: "uprobe" | "uretprobe" = "uprobe",
): ElfResult<string[]> {
  const path = resolveBinary(pathSpec);
  if (!path.ok) return path;
  return withElf(path.value, (elf) => {
    const functions = readFunctions(elf);
    const names = [...new Set(functions.map((f) => f.name))].filter((n) => filter.test(n));
    if (names.length === 0 && filter.exact !== undefined) {
      const found = findFunction(elf, filter.exact, functions);
      if (!found.ok) return found;
    }
    const lines = names.sort().map((name) => `${kind}:${path.value}:${name}`);
    return { ok: true, value: lines };
  });
}
