// compileFileAsync, the commands' entry, imports the user-space probe readers only for a
// program that may name a user-space probe: it must compile every program as compileFile
// (every reader imported) does, user-space probes and their errors included.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileFile } from "../../src/compiler/compile.ts";
import { compileFileAsync } from "../../src/compiler/compile-async.ts";
import { EXAMPLES, exampleFiles } from "../corpus.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { catalog } from "./catalog-fixture.ts";

const skip = workloadSkipReason();
if (skip !== null) throw new Error(`the user-space probe workload cannot be built: ${skip}`);
const P = buildWorkload().pie;
const dir = mkdtempSync(join(tmpdir(), "ltsh-compile-async-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function assertSameAsCompileFile(path: string) {
  const options = { catalog, backend: "any" as const };
  assert.equal(await compileFileAsync(path, options), compileFile(path, options), path);
}

function programFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("every example compiles as compileFile compiles it", async () => {
  for (const file of exampleFiles()) {
    await assertSameAsCompileFile(new URL(file, EXAMPLES).pathname);
  }
});

test("user-space probes are resolved: a plan from the binary, and a missing symbol's error", async () => {
  const good = programFile(
    "good.lt",
    `track usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0)\n` +
      `track uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid)\n`,
  );
  const planned = await compileFileAsync(good, { catalog, backend: "any" });
  assert.equal(planned.diagnostics, []);
  assert.equal(planned.plan?.trackers[0].begins[0].probe.user?.kind, "usdt");
  await assertSameAsCompileFile(good);
  const bad = programFile(
    "bad.lt",
    `track uprobe:${P}:lt_ad($tid) -> uretprobe:${P}:lt_add($tid)\n`,
  );
  const refused = await compileFileAsync(bad, { catalog, backend: "any" });
  assert.equal(refused.plan, null);
  assert.equal(refused.diagnostics[0].code, "user-probe");
  await assertSameAsCompileFile(bad);
});

test("unreadable, non-UTF-8 and empty files are diagnostics, as with compileFile", async () => {
  await assertSameAsCompileFile(join(dir, "missing.lt"));
  await assertSameAsCompileFile(programFile("comments.lt", "# only a comment\n"));
  const notUtf8 = join(dir, "bytes.lt");
  writeFileSync(notUtf8, Buffer.from([0x23, 0x20, 0xff, 0x0a]));
  await assertSameAsCompileFile(notUtf8);
});

test.run();
