// BENCHMARKS.md is shared: each benchmark script owns one `## NAME` section and rewrites
// only that one, leaving the others as their scripts last wrote them.

import { readFileSync, writeFileSync } from "node:fs";

export const BENCHMARKS_MD = new URL("../BENCHMARKS.md", import.meta.url).pathname;

/** Replaces the section whose `## NAME` heading opens `section`, or appends it. */
export function writeBenchmarkSection(section: string, path = BENCHMARKS_MD): void {
  const heading = /^## .+$/m.exec(section)?.[0];
  if (!heading) throw new Error("a benchmark section starts with a '## NAME' heading");
  let doc = "# Benchmarks\n";
  try {
    doc = readFileSync(path, "utf8");
  } catch {}
  const start = doc.search(new RegExp(`^${heading}$`, "m"));
  if (start < 0) {
    writeFileSync(path, `${doc.trimEnd()}\n\n${section.trimEnd()}\n`);
    return;
  }
  const next = doc.slice(start + 1).search(/^## /m);
  const end = next < 0 ? doc.length : start + 1 + next;
  writeFileSync(
    path,
    `${`${doc.slice(0, start)}${section.trimEnd()}\n\n${doc.slice(end)}`.trimEnd()}\n`,
  );
}
