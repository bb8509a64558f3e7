// What every checking function shares: the catalog, the user-space probe readers and the
// list diagnostics go to.

import type { CatalogIndex } from "./catalog/index.ts";
import type { Diagnostic, SourceRange } from "./diagnostic.ts";
import type { UserProbePlanner } from "./probes.ts";

export interface CheckContext {
  catalog: CatalogIndex;
  userProbes: UserProbePlanner;
  diagnostics: Diagnostic[];
}

/** Adds an error; notes are printed after the caret. */
export function report(
  context: CheckContext,
  code: string,
  message: string,
  range: SourceRange,
  notes?: string[],
): void {
  context.diagnostics.push({
    severity: "error",
    code,
    message,
    range,
    ...(notes?.length ? { notes } : {}),
  });
}
