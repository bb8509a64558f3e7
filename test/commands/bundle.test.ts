// The start-up bundle's install step: a rebuild must leave a running ltsh the chunks it has
// yet to import, and must not let old builds pile up.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { install } from "../../scripts/bundle.mjs";

/** What esbuild leaves in its output folder: the entry and its content-named chunks. */
function fakeBuild(root: string, n: number, chunks: string[]): string {
  const dir = join(root, `build-${n}.tmp`);
  mkdirSync(dir);
  writeFileSync(join(dir, "ltsh.mjs"), `// build ${n}\n`);
  for (const c of chunks) writeFileSync(join(dir, c), `// ${c}\n`);
  return dir;
}

test("a rebuild keeps the chunks of the builds before it, up to five, and swaps the entry", () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-bundle-test-"));
  const out = join(root, "bundle");
  install(fakeBuild(root, 1, ["chunk-SHARED.mjs", "chunk-ONE.mjs"]), "s1", out);
  // The second build changed one chunk: a process started from the first still finds its own.
  install(fakeBuild(root, 2, ["chunk-SHARED.mjs", "chunk-TWO.mjs"]), "s2", out);
  assert.ok(existsSync(join(out, "chunk-ONE.mjs")), "first build's chunk removed too early");
  assert.ok(existsSync(join(out, "chunk-TWO.mjs")));
  assert.is(readFileSync(join(out, "ltsh.mjs"), "utf8"), "// build 2\n");
  assert.equal(JSON.parse(readFileSync(join(out, "stamp.json"), "utf8")), { stamp: "s2" });
  for (let n = 3; n <= 6; n++)
    install(fakeBuild(root, n, ["chunk-SHARED.mjs", `chunk-${n}.mjs`]), `s${n}`, out);
  // Five builds later, the first one's own chunk goes; shared and recent ones stay.
  assert.not.ok(existsSync(join(out, "chunk-ONE.mjs")), "old chunks pile up");
  assert.ok(existsSync(join(out, "chunk-TWO.mjs")));
  assert.ok(existsSync(join(out, "chunk-SHARED.mjs")));
  assert.not.ok(existsSync(join(root, "build-6.tmp")), "temporary folder left behind");
  rmSync(root, { recursive: true, force: true });
});

test.run();
