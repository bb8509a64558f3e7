// The annotated disassembly of one canonical tracker, against a small golden text file
// (regenerate with UPDATE_GOLDEN=1 after an intended codegen change, and read the diff).

import { readFileSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ebpfListing } from "../../src/compiler/bpf/target.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";

const dir = new URL("../fixtures/bpf/", import.meta.url);

test("wakeup.lt disassembles as in the golden file, each block annotated with its .lt line", () => {
  const source = readFileSync(new URL("wakeup.lt", dir), "utf8");
  const { plan, diagnostics } = compileSource(source, "wakeup.lt", {
    catalog: loadBundledCatalog(),
  });
  assert.ok(plan, JSON.stringify(diagnostics));
  const listing = ebpfListing(plan);
  const golden = new URL("wakeup.ebpf.txt", dir);
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, listing);
  assert.fixture(listing, readFileSync(golden, "utf8"));
  assert.match(listing, "wakeup.lt:3: prio < 100");
  assert.match(listing, "wakeup.lt:4: next_pid (key)");
});

test.run();
