// The ELF reader on the workload's PIE, non-PIE and stripped builds, /bin/bash and libc:
// symbols checked against readelf -s, USDT notes against readelf -n, and file offsets against the
// bytes objdump shows at each function.

import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfFile, ET_DYN, ET_EXEC, withElf } from "../../src/compiler/uprobe/elf.ts";
import { readFunctions, readSymbols } from "../../src/compiler/uprobe/elf-symbols.ts";
import { readUsdtProbes, type UsdtProbe } from "../../src/compiler/uprobe/usdt-notes.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

function open(path: string): ElfFile {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  return opened.value;
}

function probesOf(path: string): UsdtProbe[] {
  const result = withElf(path, readUsdtProbes);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

/** Defined FUNC and IFUNC symbols as `readelf -sW` lists them: the oracle for our tables. */
function readelfFunctions(path: string, dynamic: boolean): Map<string, number> {
  const out = execFileSync("readelf", [dynamic ? "--dyn-syms" : "--syms", "-W", path], {
    encoding: "utf8",
  });
  const map = new Map<string, number>();
  for (const line of out.split("\n")) {
    // Num: Value Size Type Bind Vis Ndx Name
    const [, value, , type, , , ndx, name] = line.trim().split(/\s+/);
    if (name === undefined || ndx === "UND" || !/^I?FUNC$/.test(type)) continue;
    if (!map.has(name)) map.set(name.replace(/@.*$/, ""), Number.parseInt(value, 16));
  }
  return map;
}

test("PIE and non-PIE builds: types, and function symbols that agree with readelf", () => {
  const { pie, nopie } = buildWorkload();
  for (const [path, type] of [
    [pie, ET_DYN],
    [nopie, ET_EXEC],
  ] as const) {
    const elf = open(path);
    try {
      assert.is(elf.type, type);
      const ours = new Map(readFunctions(elf).map((f) => [f.name, f.address]));
      for (const name of ["lt_add", "lt_greet", "lt_forms", "lt_frame", "lt_guarded", "main"])
        assert.is(ours.get(name), readelfFunctions(path, false).get(name), `${name} in ${path}`);
    } finally {
      elf.close();
    }
  }
});

test("a function's file offset holds its code: the bytes objdump prints at its address", () => {
  const { pie, nopie } = buildWorkload();
  for (const path of [pie, nopie]) {
    const elf = open(path);
    const add = readFunctions(elf).find((f) => f.name === "lt_add")!;
    const offset = elf.fileOffset(add.address)!;
    elf.close();
    const dump = execFileSync(
      "objdump",
      ["-d", `--start-address=${add.address}`, `--stop-address=${add.address + 4}`, path],
      { encoding: "utf8" },
    );
    const hex = [...dump.matchAll(/^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)/gm)]
      .map((m) => m[1].trim())
      .join(" ");
    const bytes = [...readFileSync(path).subarray(offset, offset + 4)]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join(" ");
    assert.ok(hex.startsWith(bytes), `${path}: ${bytes} at offset ${offset}, objdump: ${hex}`);
    if (path === nopie) assert.is(offset, add.address - 0x400000, "non-PIE text maps at 0x400000");
  }
});

test("a stripped binary still has its exported functions, through .dynsym", () => {
  const { stripped, pie } = buildWorkload();
  const elf = open(stripped);
  try {
    assert.is(elf.section(".symtab"), undefined, "strip removed .symtab");
    const functions = readFunctions(elf);
    assert.ok(functions.every((f) => f.table === ".dynsym"));
    const add = functions.find((f) => f.name === "lt_add");
    assert.is(add?.address, readelfFunctions(pie, false).get("lt_add"));
    assert.ok(readSymbols(elf).some((s) => s.name === "lt_table" && s.kind === "object"));
  } finally {
    elf.close();
  }
});

test("/bin/bash and libc: the functions readelf --dyn-syms lists, readline and nanosleep among them", () => {
  const libc = execFileSync("sh", ["-c", "ldd /bin/sh | awk '/libc.so/ {print $3}'"], {
    encoding: "utf8",
  }).trim();
  for (const [path, name] of [
    ["/bin/bash", "readline"],
    [libc, "nanosleep"],
  ]) {
    const elf = open(path);
    try {
      const ours = readFunctions(elf);
      const expected = readelfFunctions(path, true);
      assert.is(ours.find((f) => f.name === name)?.address, expected.get(name), `${name}`);
      const names = new Set(ours.map((f) => f.name));
      const missing = [...expected.keys()].filter((n) => !names.has(n));
      assert.equal(missing, [], `every dynamic function of ${path}`);
    } finally {
      elf.close();
    }
  }
});

/** `readelf -n` on the stapsdt notes: provider, name, location, semaphore, arguments. */
function readelfNotes(path: string) {
  const out = execFileSync("readelf", ["-n", path], { encoding: "utf8" });
  return [
    ...out.matchAll(
      /Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: 0x([0-9a-f]+)\s+Arguments: ([^\n]*)/g,
    ),
  ].map((m) => ({
    provider: m[1],
    name: m[2],
    address: Number.parseInt(m[3], 16),
    semaphore: Number.parseInt(m[4], 16),
    argumentText: m[5].trim(),
  }));
}

test("USDT notes of every build agree with readelf -n, and every argument decodes", () => {
  const { pie, nopie, stripped } = buildWorkload();
  for (const path of [pie, nopie, stripped]) {
    const probes = probesOf(path);
    const ours = probes.map(({ provider, name, address, semaphore, argumentText }) => ({
      provider,
      name,
      address,
      semaphore,
      argumentText,
    }));
    assert.equal(ours, readelfNotes(path), path);
    assert.is(probes.length, 12, "eleven probes, one of them (tick) with two sites");
    for (const probe of probes)
      assert.ok(probe.arguments.ok, `${probe.name}: ${probe.argumentText}`);
  }
});

test("guarded probes' semaphores have file offsets in the file's data, others have none", () => {
  const { pie, nopie, library } = buildWorkload();
  for (const [path, name] of [
    [pie, "guarded"],
    [nopie, "guarded"],
    [library, "call"],
  ]) {
    const probes = probesOf(path);
    const guarded = probes.find((p) => p.name === name)!;
    const elf = open(path);
    const probesSection = elf.section(".probes")!;
    elf.close();
    assert.is(guarded.semaphore, probesSection.addr);
    assert.is(guarded.semaphoreOffset, probesSection.offset, "the .probes section's file offset");
    assert.ok(probes.filter((p) => p !== guarded).every((p) => p.semaphoreOffset === 0));
  }
});

test("the frame probe reads stack and RIP-relative operands, PIE and non-PIE spellings", () => {
  const { pie, nopie } = buildWorkload();
  const frame = (path: string) => probesOf(path).find((p) => p.name === "frame")!.argumentText;
  assert.match(frame(pie), /^-4@-\d+\(%rbp\) -4@48\+lt_table\(%rip\) -8@-\d+\(%rbp\)$/);
  assert.match(frame(nopie), /^-4@-\d+\(%rbp\) -4@lt_table\+48\(%rip\) -8@-\d+\(%rbp\)$/);
});

test("a note written before prelink moved .stapsdt.base is shifted by the base's move", () => {
  const { pie, dir } = buildWorkload();
  const moved = join(dir, "workload-prelinked");
  copyFileSync(pie, moved);
  const original = probesOf(pie);
  // Rewrite every note's recorded base 0x10 higher: as if the section moved down by 0x10.
  const bytes = readFileSync(moved);
  const elf = open(pie);
  const base = elf.section(".stapsdt.base")!.addr;
  const notes = elf.section(".note.stapsdt")!;
  elf.close();
  const needle = Buffer.alloc(8);
  needle.writeBigUInt64LE(BigInt(base));
  const end = notes.offset + notes.size;
  let rewritten = 0;
  for (
    let at = bytes.indexOf(needle, notes.offset);
    at >= 0 && at < end;
    at = bytes.indexOf(needle, at + 8)
  ) {
    bytes.writeBigUInt64LE(BigInt(base + 0x10), at);
    rewritten++;
  }
  writeFileSync(moved, bytes);
  assert.is(rewritten, original.length, "one base per note");
  const shifted = probesOf(moved);
  assert.equal(
    shifted.map((p) => p.address),
    original.map((p) => p.address - 0x10),
  );
  const guarded = shifted.find((p) => p.name === "guarded")!;
  assert.is(guarded.semaphore, original.find((p) => p.name === "guarded")!.semaphore - 0x10);
});

test("a missing file, a directory, a non-ELF file, another byte order or machine: error values", () => {
  const { dir } = buildWorkload();
  assert.equal(ElfFile.open(join(dir, "nope")), {
    ok: false,
    message: `cannot open ${join(dir, "nope")}: no such file`,
  });
  assert.equal(ElfFile.open(dir), { ok: false, message: `${dir} is not a regular file` });
  const text = join(dir, "notes.txt");
  writeFileSync(text, "hello, world\n");
  assert.equal(ElfFile.open(text), { ok: false, message: `${text} is not an ELF file` });
  const patched = (name: string, at: number, bytes: number[]) => {
    const copy = Buffer.from(readFileSync(join(dir, "workload-pie")));
    copy.set(bytes, at);
    writeFileSync(join(dir, name), copy);
    return join(dir, name);
  };
  const bigEndian = patched("workload-be", 5, [2]);
  assert.equal(ElfFile.open(bigEndian), {
    ok: false,
    message: `${bigEndian} is not a 64-bit little-endian ELF file`,
  });
  const arm = patched("workload-arm", 18, [183, 0]); // EM_AARCH64
  assert.equal(ElfFile.open(arm), {
    ok: false,
    message: `${arm} is built for another machine (e_machine 183), not x86-64`,
  });
  const object = join(dir, "frame-pie.o");
  assert.equal(ElfFile.open(object), {
    ok: false,
    message: `${object} is neither an executable nor a shared library`,
  });
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/elf: ${skip}`);
else test.run();
