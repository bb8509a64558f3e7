// What the BPF codegen emits at user-space probes: one program per site, operands read
// from struct pt_regs (R6), memory operands through bpf_probe_read_user with the load bias
// (regs->ip − site address) for %rip-relative symbols, str() through
// bpf_probe_read_user_str into a zeroed 64-byte slot.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTrackers } from "../../src/compiler/bpf/codegen.ts";
import { disassemble } from "../../src/compiler/bpf/disasm.ts";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import { buildWorkload } from "../uprobe/workload.ts";

const P = buildWorkload().pie;

function programs(source: string) {
  const { plan, diagnostics } = compileSource(source, "u.lt", { catalog: loadBundledCatalog() });
  assert.ok(plan, JSON.stringify(diagnostics));
  return generateTrackers(plan, { task: null }).trackers.flatMap((t) => t.programs);
}

test("one program per site, named by role, alternative and site", () => {
  const names = programs(`track t: usdt:${P}:guarded(arg0) -> usdt:${P}:tick(arg0)`).map(
    (p) => `${p.name} site ${p.site}`,
  );
  assert.equal(names, ["ltsh_t_e0u0 site 0", "ltsh_t_e0u1 site 1", "ltsh_t_b0u0 site 0"]);
});

test("a %rip-relative operand adds regs->ip − the site's address; a frame operand reads %rbp", () => {
  // frame: -4@-4(%rbp) -4@48+lt_table(%rip) -8@-24(%rbp)
  const [, begin] = programs(
    `track f: usdt:${P}:frame($tid) where arg1 == 120 && arg0 == 3 -> usdt:${P}:guarded($tid)`,
  );
  const listing = disassemble(begin.program);
  assert.match(listing, "r3 = *(u64 *)(r6 +128)"); // regs->ip
  assert.match(listing, "r4 = *(u64 *)(r6 +32)"); // regs->bp
  assert.match(listing, "call probe_read_user#112");
});

test("str() zeroes its slot, then reads through the argument's register", () => {
  const [, begin] = programs(
    `track g: uprobe:${P}:lt_greet($tid) where str(arg0) == "ltsh" -> uretprobe:${P}:lt_greet($tid)`,
  );
  const listing = disassemble(begin.program);
  assert.match(listing, "r1 = *(u64 *)(r6 +112)"); // regs->di: arg0
  assert.match(listing, "call probe_read_user_str#114");
  assert.is(
    listing.split("\n").filter((l) => /\*\(u64 \*\)\(r10 -\d+\) = 0x0/.test(l)).length >= 8,
    true,
  );
});

test.run();
