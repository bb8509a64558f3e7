// The annotated disassembly of one canonical tracker, against a small golden text file
// (regenerate with UPDATE_GOLDEN=1 after an intended codegen change, and read the diff).

import { readFileSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTrackers } from "../../src/compiler/bpf/codegen.ts";
import { ebpfListing } from "../../src/compiler/bpf/target.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import { exampleFiles, exampleSource } from "../corpus.ts";
import { expectedPrograms } from "../plans.ts";

const dir = new URL("../fixtures/bpf/", import.meta.url);

test("wakeup.lt (with its cancel) disassembles as in the golden file, each block annotated with its .lt line", () => {
  const source = readFileSync(new URL("wakeup.lt", dir), "utf8");
  const { plan, diagnostics } = compileSource(source, "wakeup.lt", {
    catalog: loadBundledCatalog(),
  });
  assert.ok(plan, JSON.stringify(diagnostics));
  // the helper-based context: the same listing on every machine (BTF offsets vary by kernel)
  const listing = ebpfListing(plan, { task: null });
  const golden = new URL("wakeup.ebpf.txt", dir);
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, listing);
  assert.fixture(listing, readFileSync(golden, "utf8"));
  assert.match(listing, "wakeup.lt:4: prio < 100");
  assert.match(listing, "wakeup.lt:5: next_pid (key)");
  assert.match(listing, "wakeup.lt:6: sched_switch(prev_pid) (cancel)");
  // ends, then cancels, then begins (grammar/README.md: the order on one event); the end
  // and the cancel on sched_switch are one program, the end's exits going on to the cancel
  const order = ["ltsh_wakeup_ec: end, then cancel on sched:sched_switch", "ltsh_wakeup_b0: begin"];
  const at = order.map((head) => listing.indexOf(head));
  assert.ok(at[0] >= 0 && at[0] < at[1], at.join());
  assert.match(listing, /goto [+-]\d+ <0\.exit>/);
  assert.match(
    listing,
    /\n0\.exit:\n +\d+: r1 = \*\(u32 \*\)\(r6 \+\d+\) +; wakeup\.lt:6: prev_pid \(key\)/,
  );
});

test("every example compiles to programs of a sane size, each named ltsh_ and at most 15 chars", () => {
  const catalog = loadBundledCatalog();
  for (const file of exampleFiles()) {
    const source = exampleSource(file);
    const { plan } = compileSource(source, file, { catalog });
    assert.ok(plan, file);
    const { trackers } = generateTrackers(plan);
    for (const t of trackers) {
      const { begins, ends, cancels = [] } = t.layout.plan;
      // one program per tracepoint (its sides in turn), one per user-space probe site
      const sides = [...ends, ...cancels, ...begins];
      const sites = sides.reduce((n, s) => n + (s.probe.user?.sites.length ?? 0), 0);
      assert.is(t.programs.length, expectedPrograms(t.layout.plan), file);
      const parts = t.programs.reduce((n, p) => n + (p.parts?.length ?? 1), 0);
      assert.is(parts, sides.length - sides.filter((s) => s.probe.user).length + sites, file);
      for (const p of t.programs) {
        assert.match(p.name, /^ltsh_[A-Za-z0-9_.]{1,10}$/, `${file}: ${p.name}`);
        assert.ok(
          p.program.slotCount < 1000 * (p.parts?.length ?? 1),
          `${file}: ${p.name} has ${p.program.slotCount} insns`,
        );
      }
      for (const m of t.maps) assert.ok(m.name.length <= 15, m.name);
    }
  }
});

test.run();
