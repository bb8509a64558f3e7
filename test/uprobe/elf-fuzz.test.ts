// Robustness: a corrupted or truncated binary never makes the ELF layer throw. Mutations hit
// the places the reader trusts (ELF header, program and section header tables, symbol and
// note sections); every outcome is a value, ok or an error message (fast-check, 500 runs).

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { readSymbols } from "../../src/compiler/uprobe/elf-symbols.ts";
import { locateUprobe } from "../../src/compiler/uprobe/symbols.ts";
import { readUsdtProbes } from "../../src/compiler/uprobe/usdt-notes.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

/** Byte ranges worth corrupting: the tables and sections the reader walks. */
function targets(path: string): [number, number][] {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  const elf = opened.value;
  const header = readFileSync(path).subarray(0, 64);
  const ranges: [number, number][] = [
    [0, 64],
    [Number(header.readBigUInt64LE(32)), header.readUInt16LE(54) * header.readUInt16LE(56)],
    [Number(header.readBigUInt64LE(40)), header.readUInt16LE(58) * header.readUInt16LE(60)],
  ];
  for (const name of [".dynsym", ".dynstr", ".symtab", ".note.stapsdt", ".gnu.version"]) {
    const section = elf.section(name);
    if (section) ranges.push([section.offset, section.size]);
  }
  elf.close();
  return ranges;
}

const INTERESTING = [0, 1, 3, 7, 8, 12, 23, 24, 56, 64, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

function survives(path: string): void {
  const opened = ElfFile.open(path);
  if (!opened.ok) {
    assert.type(opened.message, "string");
    return;
  }
  const elf = opened.value;
  try {
    readSymbols(elf);
    const probes = readUsdtProbes(elf);
    assert.ok(probes.ok || probes.message.length > 0);
    const located = locateUprobe(elf, "lt_add");
    assert.ok(located.ok || located.message.length > 0);
  } finally {
    elf.close();
  }
}

test("corrupted bytes in the tables and sections the reader walks: values, never a throw", () => {
  const { pie, dir } = buildWorkload();
  const original = readFileSync(pie);
  const ranges = targets(pie);
  const mutated = join(dir, "workload-fuzzed");
  const mutation = fc.record({
    range: fc.nat(ranges.length - 1),
    // Aligned 32-bit writes of the values that break size, count and offset fields.
    edits: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING)), {
      minLength: 1,
      maxLength: 8,
    }),
    // One run in five also cuts the file short (the section headers sit at its end).
    truncateTo: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 4 },
      { arbitrary: fc.nat(original.length), weight: 1 },
    ),
  });
  fc.assert(
    fc.property(mutation, ({ range, edits, truncateTo }) => {
      const bytes = Buffer.from(original);
      const [start, length] = ranges[range];
      for (const [at, value] of edits) {
        const position = start + ((at % Math.max(1, length)) & ~3);
        if (position + 4 <= bytes.length) bytes.writeUInt32LE(value, position);
      }
      writeFileSync(mutated, truncateTo === undefined ? bytes : bytes.subarray(0, truncateTo));
      survives(mutated);
    }),
    { numRuns: 500 },
  );
});

test("a header claiming 65535 huge program and section headers reads only what the file holds", () => {
  const { pie, dir } = buildWorkload();
  const bytes = Buffer.from(readFileSync(pie));
  bytes.writeUInt16LE(0xffff, 54); // e_phentsize
  bytes.writeUInt16LE(0xffff, 56); // e_phnum
  bytes.writeUInt16LE(0xffff, 58); // e_shentsize
  bytes.writeUInt16LE(0xffff, 60); // e_shnum
  const path = join(dir, "workload-huge-tables");
  writeFileSync(path, bytes);
  survives(path);
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/elf-fuzz: ${skip}`);
else test.run();
