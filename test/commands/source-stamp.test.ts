// The sources' stamp decides whether bin/ltsh.js may run the start-up bundle and which
// compiled-cache entries are current: any edit, new or removed source must change it.

import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sourceStampOf } from "../../src/source-stamp.mjs";

/** A checkout's stamped parts: package.json, a nested source and a grammar file. */
function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), "ltsh-stamp-test-"));
  mkdirSync(join(root, "src", "compiler"), { recursive: true });
  mkdirSync(join(root, "grammar"));
  writeFileSync(join(root, "package.json"), "{}\n");
  writeFileSync(join(root, "src", "compiler", "checker.ts"), "export {};\n");
  writeFileSync(join(root, "grammar", "ltsh.ebnf"), "track ::= ...\n");
  const past = new Date(Date.now() - 60_000);
  for (const f of ["package.json", "src/compiler/checker.ts", "grammar/ltsh.ebnf"])
    utimesSync(join(root, f), past, past);
  return root;
}

test("an edit, a new file or a removed file changes the stamp; the root's spelling does not", () => {
  const root = checkout();
  const before = sourceStampOf(root).text;
  assert.is(sourceStampOf(`${root}/`).text, before);
  assert.is(sourceStampOf(root).files, 3);

  writeFileSync(join(root, "src", "compiler", "checker.ts"), "export const edited = 1;\n");
  const edited = sourceStampOf(root).text;
  assert.is.not(edited, before, "an edited source kept the stamp");

  writeFileSync(join(root, "grammar", "extra.ebnf"), "\n");
  const added = sourceStampOf(root);
  assert.is(added.files, 4);
  assert.is.not(added.text, edited);

  unlinkSync(join(root, "grammar", "extra.ebnf"));
  assert.is.not(sourceStampOf(root).text, added.text, "a removed source kept the stamp");
  rmSync(root, { recursive: true, force: true });
});

test.run();
