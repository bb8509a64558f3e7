// What Tab completes from: the shell's commands, the language's keywords and actions,
// option names, the catalog's probes and the fields of a probe, tracker names, files.

import { readdirSync } from "node:fs";
import { KEYWORDS } from "../../grammar/tokens.ts";
import { ACTIONS } from "../compiler/actions.ts";
import { BUILTINS } from "../compiler/builtins.ts";
import type { CatalogIndex } from "../compiler/catalog/index.ts";
import { OPTIONS } from "../compiler/options.ts";
import { COMMAND_NAMES, EMIT_TARGETS } from "./commands.ts";
import type { Vocabulary } from "./completion.ts";

export function shellVocabulary(
  catalog: CatalogIndex,
  trackers: () => readonly string[],
): Vocabulary {
  let probes: string[] | undefined;
  return {
    commands: COMMAND_NAMES,
    keywords: [
      ...KEYWORDS,
      "first",
      "last",
      ...ACTIONS.map((a) => a.name),
      ...OPTIONS.map((o) => o.name),
      ...Object.keys(BUILTINS).map((b) => `$${b}`),
    ],
    probes() {
      // Both spellings a user may type: the unique name and category:name.
      probes ??= [...new Set(catalog.ids().flatMap((id) => [id, id.slice(id.indexOf(":") + 1)]))];
      return probes;
    },
    fields(probe) {
      const found = catalog.find(probe);
      if (!found.ok) return [];
      const fields = found.tracepoint.fields.filter((f) => !f.common).map((f) => f.name);
      return [
        ...fields,
        ...fields.map((f) => `args.${f}`),
        ...Object.keys(BUILTINS).map((b) => `$${b}`),
      ];
    },
    trackers,
    targets: EMIT_TARGETS,
    files: listFiles,
  };
}

/** Entries of the directory a path prefix points into, directories with a trailing "/". */
export function listFiles(prefix: string): string[] {
  const base = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  const hidden = prefix.slice(base.length).startsWith(".");
  try {
    return readdirSync(base || ".", { withFileTypes: true })
      .filter((entry) => hidden || !entry.name.startsWith("."))
      .map((entry) => `${base}${entry.name}${entry.isDirectory() ? "/" : ""}`);
  } catch {
    return [];
  }
}
