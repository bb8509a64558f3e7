// The demos' tracker files: every fallback compiles for the live backend, every chain is a
// valid program (replay runs it), and the narration names the file that runs and why.

import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileFile } from "../../src/compiler/compile.ts";
import { DEMOS_DIR } from "../../src/demo/demo.ts";
import { DEMOS } from "../../src/demo/registry.ts";
import { chooseTrackers, trackerLine } from "../../src/demo/run-demo.ts";

const catalog = loadBundledCatalog();

for (const demo of DEMOS) {
  test(`${demo.name}: the fallback compiles for eBPF, the chain for replay`, () => {
    const fallback = compileFile(join(DEMOS_DIR, demo.trackers.fallback), { catalog });
    assert.ok(fallback.plan, JSON.stringify(fallback.diagnostics));
    if (!demo.trackers.chain) return;
    const chain = compileFile(join(DEMOS_DIR, demo.trackers.chain), {
      catalog,
      backend: "replay",
    });
    assert.ok(chain.plan, JSON.stringify(chain.diagnostics));
    assert.ok(chain.plan?.trackers[0].chain, "a chain tracker");
  });

  test(`${demo.name}: the chain runs when eBPF takes it, otherwise the fallback says why`, () => {
    const choice = chooseTrackers(demo, catalog);
    const line = trackerLine(demo, choice);
    if (choice.chain) {
      assert.is(line, `trackers: examples/demos/${demo.trackers.chain} (the chain)`);
    } else if (demo.trackers.chain) {
      assert.ok(choice.reason, "the checker's reason");
      assert.ok(
        line.startsWith(
          `trackers: examples/demos/${demo.trackers.fallback}, the plain fallback: the live backend refused the chain here (`,
        ),
      );
    } else {
      assert.is(line, `trackers: examples/demos/${demo.trackers.fallback}`);
    }
  });
}

test.run();
