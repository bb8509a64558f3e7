// The shared corpus of every backend's suites: the examples (examples/*.lt), found and
// compiled in one place, so that each suite runs the same programs.

import { readdirSync, readFileSync } from "node:fs";
import type { Catalog } from "../src/compiler/catalog/types.ts";
import { compileSource } from "../src/compiler/compile.ts";
import type { FilePlan } from "../src/compiler/plan.ts";

export const EXAMPLES = new URL("../examples/", import.meta.url);

/** The examples' file names ("wakeup.lt", ...), sorted. */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith(".lt"))
    .sort();
}

export function exampleSource(file: string): string {
  return readFileSync(new URL(file, EXAMPLES), "utf8");
}

/**
 * An example's plan, checked against `catalog` (default: this kernel's tracefs when
 * readable, else the bundled one, as `ltsh` does); throws when it does not compile.
 */
export function examplePlan(file: string, catalog?: Catalog): FilePlan {
  const { plan, diagnostics } = compileSource(exampleSource(file), `examples/${file}`, {
    catalog,
  });
  if (!plan) throw new Error(`examples/${file}: ${diagnostics.map((d) => d.message).join("; ")}`);
  return plan;
}
