// What a demo needs before it starts anything: its programs on PATH (named with the Debian
// package that ships them), and live tracing (root, tracefs, bpf). Every problem is listed
// at once, with the line that fixes it.

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A program the demo runs, and the Debian package that ships it. */
export interface Needed {
  program: string;
  apt: string;
}

export function onPath(program: string, path = process.env.PATH ?? ""): boolean {
  return path.split(delimiter).some((dir) => {
    if (dir === "") return false;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The problems, one message each (empty: ready). `live` is the live-tracing check's answer. */
export function missingRequirements(
  demo: string,
  needed: readonly Needed[],
  live: { ok: boolean; message?: string },
): string[] {
  const problems: string[] = [];
  const missing = needed.filter((n) => !onPath(n.program));
  if (missing.length > 0) {
    const programs = missing.map((n) => n.program).join(", ");
    const packages = [...new Set(missing.map((n) => n.apt))].join(" ");
    problems.push(
      `the ${demo} demo needs ${programs}, not found on PATH: apt-get install ${packages}`,
    );
  }
  if (!live.ok) problems.push(`the ${demo} demo traces live: ${live.message}`);
  return problems;
}
