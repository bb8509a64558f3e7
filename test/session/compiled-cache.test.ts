// The compiled cache of `ltsh run`: entries read back as generated (ids of now, BigInts),
// keys change with everything the programs depend on, damaged or stale entries miss.

import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTracker } from "../../src/compiler/bpf/codegen.ts";
import { loadCatalog } from "../../src/compiler/catalog/index.ts";
import type { Tracepoint } from "../../src/compiler/catalog/types.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import {
  CACHE_ENTRIES,
  type CacheInputs,
  type CompiledEntry,
  cacheDir,
  cacheKey,
  hash106,
  readCompiled,
  writeCompiled,
} from "../../src/session/compiled-cache.ts";
import type { KmodArtifact } from "../../src/session/kmod.ts";
import type { LiveArtifact } from "../../src/session/live.ts";
import type { Artifact } from "../../src/session/types.ts";

const SOURCE = `track wakeup: sched_wakeup(pid) -> sched_switch(next_pid) > 200us timeout 1s\n`;
const catalog = loadCatalog({ path: "bundled" });

function compiled(): CompiledEntry {
  const { plan, diagnostics } = compileSource(SOURCE, "wakeup.lt", { catalog });
  if (!plan) throw new Error("does not compile");
  const task = { pid: 2456, tgid: 2460, comm: 3032 };
  const artifacts = plan.trackers.map(
    (t, i): LiveArtifact => ({ backend: "ebpf", plan: t, object: generateTracker(t, i, { task }) }),
  );
  return { options: plan.options, diagnostics, artifacts };
}

const objectOf = (artifact: Artifact) => (artifact as LiveArtifact).object;

/** A tracefs-like events tree holding the formats of the entry's probes, with new ids. */
function eventsDir(root: string, ids: Record<string, number>, edit = (_: Tracepoint) => {}) {
  const dir = join(root, "events");
  for (const [id, eventId] of Object.entries(ids)) {
    const [category, name] = id.split(":");
    const tp = structuredClone(catalog.get(category, name)!);
    edit(tp);
    const fields = tp.fields.map((f) => {
      const decl = f.arrayLength !== undefined ? `${f.name}[${f.arrayLength}]` : f.name;
      return `\tfield:${f.cType} ${decl};\toffset:${f.offset};\tsize:${f.size};\tsigned:${f.signed ? 1 : 0};`;
    });
    mkdirSync(join(dir, category, name), { recursive: true });
    const text = [`name: ${name}`, `ID: ${eventId}`, "format:", ...fields, ""].join("\n");
    writeFileSync(join(dir, category, name, "format"), text);
  }
  return dir;
}

const IDS = { "sched:sched_wakeup": 9001, "sched:sched_switch": 9002 };

function withTemp(fn: (root: string) => void) {
  const root = mkdtempSync(join(tmpdir(), "ltsh-compiled-"));
  try {
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const eventIds = (artifacts: Artifact[]) =>
  artifacts.flatMap((a) => objectOf(a).programs.map((p) => [p.probe.id, p.probe.eventId]));

test("an entry reads back as generated, with 64-bit immediates and today's tracepoint ids", () =>
  withTemp((root) => {
    const entry = compiled();
    const programs = objectOf(entry.artifacts[0]).programs;
    const wide = programs.flatMap((p) => p.program.insns).filter((i) => i.imm64);
    assert.ok(wide.length > 0, "the programs hold 64-bit immediates");
    writeCompiled(
      root,
      "k1",
      entry,
      eventsDir(join(root, "then"), { ...IDS, "sched:sched_switch": 7 }),
    );
    const back = readCompiled(root, "k1", eventsDir(join(root, "now"), IDS));
    assert.ok(back, "a hit");
    assert.equal(eventIds(back.artifacts), [
      ["sched:sched_switch", 9002],
      ["sched:sched_wakeup", 9001],
    ]);
    for (const p of programs) p.probe.eventId = IDS[p.probe.id as keyof typeof IDS];
    assert.equal(back, entry);
    const { plan } = back.artifacts[0];
    assert.ok(plan === objectOf(back.artifacts[0]).layout.plan, "one plan");
    assert.ok(
      objectOf(back.artifacts[0]).programs[1].probe === plan.begins[0].probe,
      "probes shared",
    );
  }));

test("a built module is kept by its path in the build cache, and misses once that file is gone", () =>
  withTemp((root) => {
    const { options, diagnostics, artifacts } = compiled();
    const { plan } = artifacts[0];
    const ko = join(root, "kmod", "lt_wakeup.ko");
    mkdirSync(join(root, "kmod"), { recursive: true, mode: 0o755 });
    writeFileSync(ko, "module bytes", { mode: 0o644 });
    const module: KmodArtifact = { backend: "kmod", plan, module: "lt_wakeup", ko, buildDir: null };
    const events = eventsDir(root, IDS);
    writeCompiled(root, "k1", { options, diagnostics, artifacts: [module] }, events);
    const back = readCompiled(root, "k1", events);
    assert.ok(back, "a hit");
    const [kept] = back.artifacts as KmodArtifact[];
    assert.equal(
      [kept.backend, kept.module, kept.ko, kept.buildDir],
      ["kmod", "lt_wakeup", ko, null],
    );
    assert.equal(kept.plan.name, "wakeup");
    assert.equal(
      kept.plan.begins.map((side) => side.probe.eventId),
      [IDS["sched:sched_wakeup"]],
      "today's tracepoint ids",
    );
    rmSync(ko);
    assert.is(readCompiled(root, "k1", events), null, "the build cache pruned it: a miss");
    const unbuilt: KmodArtifact = {
      ...module,
      ko: join(root, "b", "x.ko"),
      buildDir: join(root, "b"),
    };
    writeCompiled(root, "k2", { options, diagnostics, artifacts: [unbuilt] }, events);
    assert.is(readCompiled(root, "k2", events), null, "a build directory of one run is not kept");
  }));

test("the key changes with the file's bytes and path, a flag, ltsh's code and the kernel", () => {
  const bytes = new TextEncoder().encode(SOURCE);
  const inputs: CacheInputs = { path: "wakeup.lt", bytes, flags: { target: "ebpf" } };
  const identity = { code: "stamp:120:1", kernel: "6.18.0 #1 SMP x64 btf:5515236" };
  const key = cacheKey(inputs, identity);
  assert.is(cacheKey({ ...inputs, bytes: new TextEncoder().encode(SOURCE) }, identity), key);
  const others = [
    cacheKey({ ...inputs, bytes: new TextEncoder().encode(`${SOURCE} `) }, identity),
    cacheKey({ ...inputs, path: "./wakeup.lt" }, identity),
    cacheKey({ ...inputs, flags: { target: "ebpf", catalog: "x.json" } }, identity),
    cacheKey(inputs, { ...identity, code: "stamp:120:2" }),
    cacheKey(inputs, { ...identity, kernel: "6.18.0 #2 SMP x64 btf:5515236" }),
    cacheKey(inputs, { ...identity, kernel: "6.18.0 #1 SMP x64 btf:5515240" }),
  ];
  assert.is(new Set([key, ...others]).size, others.length + 1);
});

test("a probe gone from tracefs, or whose format changed, misses", () =>
  withTemp((root) => {
    writeCompiled(root, "k1", compiled(), eventsDir(root, IDS));
    const gone = eventsDir(join(root, "a"), { "sched:sched_switch": 9002 });
    assert.is(readCompiled(root, "k1", gone), null);
    const moved = eventsDir(join(root, "b"), IDS, (tp) => {
      if (tp.name === "sched_switch") tp.fields.at(-1)!.offset += 8;
    });
    assert.is(readCompiled(root, "k1", moved), null);
    assert.ok(readCompiled(root, "k1", eventsDir(join(root, "c"), IDS)), "the same formats hit");
    writeCompiled(root, "k2", compiled(), gone);
    assert.not.ok(
      existsSync(join(root, "k2.ltsh")),
      "not stored without the formats compiled against",
    );
  }));

test("a damaged entry is ignored, then rewritten", () =>
  withTemp((root) => {
    const events = eventsDir(root, IDS);
    const entry = compiled();
    writeCompiled(root, "k1", entry, events);
    const path = join(root, "k1.ltsh");
    const text = readFileSync(path, "utf8");
    writeFileSync(path, text.slice(0, text.length / 2));
    assert.is(readCompiled(root, "k1", events), null, "truncated");
    const changed = text.replace("[183,", "[184,"); // one instruction's opcode
    assert.is.not(changed, text);
    writeFileSync(path, changed);
    assert.is(readCompiled(root, "k1", events), null, "one byte changed");
    writeFileSync(path, "not an entry");
    assert.is(readCompiled(root, "k1", events), null, "garbage");
    writeCompiled(root, "k1", entry, events);
    assert.ok(readCompiled(root, "k1", events), "rewritten");
    assert.is(readCompiled(root, "k2", events), null, "another key");
  }));

test("an entry or a directory that others may write is not used", () =>
  withTemp((root) => {
    const events = eventsDir(root, IDS);
    const dir = join(root, "compiled");
    writeCompiled(dir, "k1", compiled(), events);
    assert.ok(readCompiled(dir, "k1", events), "this user's entry");
    chmodSync(join(dir, "k1.ltsh"), 0o666);
    assert.is(readCompiled(dir, "k1", events), null, "a world-writable entry");
    chmodSync(join(dir, "k1.ltsh"), 0o644);
    chmodSync(dir, 0o775);
    assert.is(readCompiled(dir, "k1", events), null, "a group-writable directory");
  }));

test("a cache that cannot be written is no error", () =>
  withTemp((root) => {
    writeFileSync(join(root, "file"), "");
    const dir = join(root, "file", "compiled"); // under a regular file: mkdir fails, even for root
    const events = eventsDir(root, IDS);
    writeCompiled(dir, "k1", compiled(), events);
    assert.is(readCompiled(dir, "k1", events), null);
  }));

test("the least recently used entries are dropped beyond CACHE_ENTRIES", () =>
  withTemp((root) => {
    const events = eventsDir(root, {});
    const empty: CompiledEntry = { options: {}, diagnostics: [], artifacts: [] };
    for (let i = 0; i < CACHE_ENTRIES; i++) {
      writeCompiled(root, `k${i}`, empty, events);
      utimesSync(join(root, `k${i}.ltsh`), 1000 + i, 1000 + i);
    }
    assert.ok(readCompiled(root, "k0", events), "k0 used: now the most recent");
    writeFileSync(join(root, "k9.ltsh.999999999.tmp"), "left by a killed run");
    writeCompiled(root, "new", empty, events);
    const names = readdirSync(root).filter((n) => n.endsWith(".ltsh"));
    assert.is(names.length, CACHE_ENTRIES);
    assert.ok(names.includes("k0.ltsh") && names.includes("new.ltsh"));
    assert.not.ok(names.includes("k1.ltsh"), "the least recently used is gone");
    assert.not.ok(
      readdirSync(root).some((n) => n.endsWith(".tmp")),
      "no leftovers",
    );
  }));

test("the hash: any byte and the length count; where the bytes lie in memory does not", () => {
  const bytes = new TextEncoder().encode("track x: a(pid) -> b(pid) > 1ms\n");
  const hashes = new Set([hash106(bytes)]);
  for (let i = 0; i < bytes.length; i++) {
    const changed = bytes.slice();
    changed[i] ^= 1;
    hashes.add(hash106(changed));
  }
  hashes.add(hash106(bytes.subarray(0, bytes.length - 1)));
  assert.is(hashes.size, bytes.length + 2);
  const unaligned = new Uint8Array(bytes.length + 3);
  unaligned.set(bytes, 3);
  assert.is(hash106(unaligned.subarray(3)), hash106(bytes));
});

test("the cache lives under XDG_CACHE_HOME, else ~/.cache", () => {
  assert.is(cacheDir({ XDG_CACHE_HOME: "/x" }), "/x/ltsh/compiled");
  assert.ok(cacheDir({}).endsWith("/.cache/ltsh/compiled"));
});

test.run();
