// Resolving PATH spellings (paths, $PATH programs, library names through the loader's cache,
// checked against ldconfig -p) and SPEC spellings (SYMBOL, SYMBOL+OFFSET, 0xADDRESS, typos).

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { readFunctions } from "../../src/compiler/uprobe/elf-symbols.ts";
import { readLoaderCache, resolveBinary } from "../../src/compiler/uprobe/resolve-path.ts";
import { locateUprobe } from "../../src/compiler/uprobe/symbols.ts";
import { findUsdtProbe } from "../../src/compiler/uprobe/usdt-lookup.ts";
import { readUsdtProbes } from "../../src/compiler/uprobe/usdt-notes.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

/** ldconfig -p's x86-64 entries, in its order: the oracle for the cache parser. */
function ldconfigEntries(): { name: string; path: string }[] {
  const out = execFileSync("/sbin/ldconfig", ["-p"], { encoding: "utf8" });
  return [...out.matchAll(/^\s+(\S+) \(libc6,x86-64[^)]*\) => (\S+)$/gm)].map((m) => ({
    name: m[1],
    path: m[2],
  }));
}

test("the loader cache parser reads what ldconfig -p prints, in the same order", () => {
  const ours = readLoaderCache();
  assert.ok(ours.length > 10);
  assert.equal(ours, ldconfigEntries());
});

test("library names resolve like the loader: libc, libpthread, an exact soname", () => {
  const libc = ldconfigEntries().find((e) => e.name === "libc.so.6")!.path;
  assert.equal(resolveBinary("libc"), { ok: true, value: realpathSync(libc) });
  assert.equal(resolveBinary("libc.so.6"), { ok: true, value: realpathSync(libc) });
  const pthread = ldconfigEntries().find((e) => e.name === "libpthread.so.0")!.path;
  assert.equal(resolveBinary("libpthread"), { ok: true, value: realpathSync(pthread) });
});

test("without a loader cache, library names resolve in the loader's default directories", () => {
  const { dir, pie } = buildWorkload();
  const libs = join(dir, "lib");
  mkdirSync(libs, { recursive: true });
  for (const name of [
    "libltshfake.so",
    "libltshfake.so.1",
    "libltshfake.so.10",
    "libltshfake.so.2",
  ])
    copyFileSync(pie, join(libs, name));
  const options = { cacheFile: "/nonexistent", libraryDirs: ["/nonexistent", libs] };
  assert.equal(resolveBinary("libltshfake", options), {
    ok: true,
    value: join(realpathSync(libs), "libltshfake.so.10"),
  });
  assert.equal(resolveBinary("libltshfake.so.1", options), {
    ok: true,
    value: join(realpathSync(libs), "libltshfake.so.1"),
  });
  const libc = ldconfigEntries().find((e) => e.name === "libc.so.6")!.path;
  assert.equal(resolveBinary("libc", { cacheFile: "/nonexistent" }), {
    ok: true,
    value: realpathSync(libc),
  });
});

test("a program name is found on $PATH; paths resolve against the working directory", () => {
  const bash = realpathSync("/bin/bash");
  assert.equal(resolveBinary("bash", { searchPath: "/nonexistent:/usr/bin:/bin" }), {
    ok: true,
    value: bash,
  });
  assert.equal(resolveBinary("/bin/bash"), { ok: true, value: bash });
  assert.equal(resolveBinary("./bash", { cwd: "/bin" }), { ok: true, value: bash });
  const { pie } = buildWorkload();
  assert.equal(
    resolveBinary(`../${basename(dirname(pie))}/${basename(pie)}`, { cwd: dirname(pie) }),
    {
      ok: true,
      value: realpathSync(pie),
    },
  );
});

test("unknown names and missing paths are one-line errors", () => {
  assert.equal(resolveBinary("/no/such/binary"), {
    ok: false,
    message: "/no/such/binary: no such file",
  });
  assert.equal(resolveBinary("ltsh-no-such-program", { searchPath: "/usr/bin" }), {
    ok: false,
    message:
      "no program or library named 'ltsh-no-such-program' (searched $PATH and /etc/ld.so.cache)",
  });
  assert.equal(resolveBinary("libltsh_nothing").ok, false);
  assert.equal(resolveBinary("/tmp/"), { ok: false, message: "/tmp/ is not a regular file" });
});

function withOpen<T>(path: string, fn: (elf: ElfFile) => T): T {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  try {
    return fn(opened.value);
  } finally {
    opened.value.close();
  }
}

test("SYMBOL, SYMBOL+OFFSET and 0xADDRESS locate the same code in every build", () => {
  const { pie, nopie, stripped } = buildWorkload();
  for (const path of [pie, nopie, stripped]) {
    withOpen(path, (elf) => {
      const forms = readFunctions(elf).find((f) => f.name === "lt_forms")!;
      const entry = locateUprobe(elf, "lt_forms");
      assert.equal(entry, {
        ok: true,
        value: {
          symbol: "lt_forms",
          offsetInSymbol: 0,
          address: forms.address,
          fileOffset: elf.fileOffset(forms.address),
        },
      });
      const plus = locateUprobe(elf, "lt_forms+0x4");
      assert.ok(plus.ok && entry.ok && plus.value.fileOffset === entry.value.fileOffset + 4);
      const byAddress = locateUprobe(elf, `0x${(forms.address + 4).toString(16)}`);
      assert.equal(byAddress, plus);
      assert.equal(locateUprobe(elf, "lt_forms+4"), plus);
    });
  }
});

test("an indirect function (libc's memcpy) is flagged: a probe there sees its resolver", () => {
  const libc = resolveBinary("libc");
  if (!libc.ok) throw new Error(libc.message);
  withOpen(libc.value, (elf) => {
    const memcpy = locateUprobe(elf, "memcpy");
    assert.ok(memcpy.ok && memcpy.value.indirect === true, "memcpy is an IFUNC in glibc");
    const nanosleep = locateUprobe(elf, "nanosleep");
    assert.ok(nanosleep.ok && nanosleep.value.indirect === undefined);
  });
});

test("a misspelt function gets suggestions; offsets past the end and data addresses fail", () => {
  const { pie, stripped } = buildWorkload();
  withOpen(pie, (elf) => {
    const typo = locateUprobe(elf, "lt_ad");
    assert.equal(typo, {
      ok: false,
      message: `no function 'lt_ad' in ${pie}; did you mean 'lt_add'?`,
    });
    const size = readFunctions(elf).find((f) => f.name === "lt_add")!.size;
    assert.equal(locateUprobe(elf, `lt_add+${size}`), {
      ok: false,
      message: `offset ${size} is beyond 'lt_add' (${size} bytes) in ${pie}`,
    });
    const table = elf.section(".data")!.addr;
    const data = locateUprobe(elf, `0x${table.toString(16)}`);
    assert.equal(data, {
      ok: false,
      message: `address 0x${table.toString(16)} is not in an executable segment of ${pie}`,
    });
  });
  withOpen(stripped, (elf) => {
    const gone = locateUprobe(elf, "lt_frame_helper");
    assert.ok(!gone.ok && gone.message.includes("(stripped: only exported functions are known)"));
  });
});

test("USDT lookup: provider:name, a bare name, unknown names listed, ambiguous names", () => {
  const { pie } = buildWorkload();
  const probes = withOpen(pie, (elf) => {
    const read = readUsdtProbes(elf);
    if (!read.ok) throw new Error(read.message);
    return read.value;
  });
  const full = findUsdtProbe(pie, probes, "ltsh:guarded");
  assert.ok(full.ok && full.value.sites.length === 1 && full.value.provider === "ltsh");
  assert.equal(findUsdtProbe(pie, probes, "guarded"), full);
  const typo = findUsdtProbe(pie, probes, "ltsh:guard");
  assert.ok(!typo.ok);
  if (!typo.ok) {
    assert.match(
      typo.message,
      /^no USDT probe 'ltsh:guard' in .*; did you mean 'ltsh:guarded'\? \(it has /,
    );
    assert.match(typo.message, /ltsh:work__begin/);
  }
  const twoProviders = [...probes, { ...probes[0], provider: "other" }];
  const ambiguous = findUsdtProbe(pie, twoProviders, probes[0].name);
  assert.equal(ambiguous, {
    ok: false,
    message: `USDT probe '${probes[0].name}' is ambiguous in ${pie}: write usdt:${pie}:ltsh:${probes[0].name}, usdt:${pie}:other:${probes[0].name}`,
  });
  assert.equal(findUsdtProbe("/bin/true", [], "x"), {
    ok: false,
    message: "/bin/true has no USDT probes (no .note.stapsdt section)",
  });
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/resolve: ${skip}`);
else test.run();
