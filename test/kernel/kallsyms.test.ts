// Symbolising kernel addresses: a parsed sample, then the live /proc/kallsyms.

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelSymbols } from "../../src/kernel/kallsyms.ts";

const SAMPLE = [
  "ffffffff81000000 T _stext",
  "ffffffff81001000 t do_one",
  "ffffffff81002000 D some_data",
  "ffffffffc0a01000 t mod_fn\t[e1000]",
  "ffffffff81000800 T middle",
].join("\n");

test("addresses resolve to the nearest text symbol below them, with the offset", () => {
  const syms = KernelSymbols.parse(SAMPLE);
  assert.is(syms.size, 4);
  assert.is(syms.resolve(0xffffffff81000000n), "_stext+0x0");
  assert.is(syms.resolve(0xffffffff8100081an), "middle+0x1a");
  assert.is(syms.resolve(0xffffffff81002010n), "do_one+0x1010", "data symbols are not code");
  assert.is(syms.resolve(0xffffffffc0a01004n), "mod_fn+0x4 [e1000]");
});

test("addresses below every symbol, or in user space, stay hex", () => {
  const syms = KernelSymbols.parse(SAMPLE);
  assert.is(syms.resolve(0xffffffff80000000n), "0xffffffff80000000");
  assert.is(syms.resolve(0x401000n), "0x401000");
});

test("the live kallsyms resolves a known function's own address", () => {
  const text = readFileSync("/proc/kallsyms", "utf8");
  const line = /^([0-9a-f]{16}) T schedule$/m.exec(text);
  if (line === null || /^0+$/.test(line[1])) {
    console.log("  skip live kallsyms: addresses hidden (kernel.kptr_restrict, not root)");
    return;
  }
  const syms = KernelSymbols.load();
  assert.is(syms.resolve(BigInt(`0x${line[1]}`) + 5n), "schedule+0x5");
});

test.run();
