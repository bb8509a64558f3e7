// The static profile of chain trackers' programs (test/fixtures/bpf/chains.lt): per program,
// its instructions and the helper calls it contains, against a small golden. A cost change
// of the generated code shows as a changed count; regenerate with UPDATE_GOLDEN=1 after an
// intended codegen change, and read the diff. Call sites are counted, not calls made.

import { readFileSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTrackers } from "../../src/compiler/bpf/codegen.ts";
import { disassemble } from "../../src/compiler/bpf/disasm.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import { chainContextEvents } from "../../src/compiler/contexts.ts";
import type { ProbePlan } from "../../src/compiler/plan.ts";
import { resolveProbe } from "../../src/compiler/probes.ts";

const dir = new URL("../fixtures/bpf/", import.meta.url);
/** Any task_struct offsets: the profile counts instructions, not what they read. */
const TASK = { pid: 2448, tgid: 2452, comm: 3048 };

function profile(): string {
  const catalog = loadBundledCatalog();
  const source = readFileSync(new URL("chains.lt", dir), "utf8");
  const { plan, diagnostics } = compileSource(source, "chains.lt", { catalog, backend: "ebpf" });
  assert.ok(plan, JSON.stringify(diagnostics));
  const contexts = new Map<string, ProbePlan>();
  for (const id of chainContextEvents()) {
    const found = resolveProbe(id, catalog, null);
    if (found.ok) contexts.set(id, found.probe);
  }
  const { trackers } = generateTrackers(plan, { task: TASK, contexts, cpus: 2 });
  return trackers
    .flatMap((t) =>
      t.programs.map((p) => {
        const calls = new Map<string, number>();
        for (const m of disassemble(p.program).matchAll(/call (\w+)#/g)) {
          calls.set(m[1], (calls.get(m[1]) ?? 0) + 1);
        }
        const counts = [...calls].sort().map(([name, n]) => `${name}×${n}`);
        return `${p.name} ${p.probe.id}: ${p.program.slotCount} insns; ${counts.join(" ")}`;
      }),
    )
    .join("\n")
    .concat("\n");
}

test("chain programs keep their size and helper calls (chains.profile.txt)", () => {
  const golden = new URL("chains.profile.txt", dir);
  const text = profile();
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
  assert.fixture(text, readFileSync(golden, "utf8"));
});

test.run();
