// The tracepoint catalog: format parsing, lookups by name and category:name, suggestions,
// the bundled snapshot, and a tracefs-style directory given with --catalog.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseFormat } from "../../src/compiler/catalog/format.ts";
import { CatalogError, loadBundledCatalog, loadCatalog } from "../../src/compiler/catalog/index.ts";

const fixtureEvents = new URL("../fixtures/lt/events/", import.meta.url).pathname;

test("a format file: id, fields with type, offset, size, signedness, arrays", () => {
  const text = readFileSync(`${fixtureEvents}sched/sched_switch/format`, "utf8");
  const t = parseFormat("sched", text)!;
  assert.is(t.name, "sched_switch");
  assert.is(t.id, Number(/ID: (\d+)/.exec(text)![1]));
  const byName = Object.fromEntries(t.fields.map((f) => [f.name, f]));
  assert.equal(byName.prev_comm, {
    name: "prev_comm",
    cType: "char",
    offset: 8,
    size: 16,
    signed: false,
    common: false,
    arrayLength: 16,
  });
  assert.equal(byName.prev_state, {
    name: "prev_state",
    cType: "long",
    offset: 32,
    size: 8,
    signed: true,
    common: false,
  });
  assert.is(byName.common_pid.common, true);
});

test("__data_loc and flexible arrays", () => {
  const t = parseFormat(
    "x",
    "name: e\nID: 1\nformat:\n\tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;\n\tfield:unsigned long args[];\toffset:24;\tsize:0;\tsigned:0;\n",
  )!;
  assert.equal(t.fields[0], {
    name: "name",
    cType: "__data_loc char[]",
    offset: 12,
    size: 4,
    signed: false,
    common: false,
    dataLoc: true,
  });
  assert.equal(t.fields[1], {
    name: "args",
    cType: "unsigned long",
    offset: 24,
    size: 0,
    signed: false,
    common: false,
    arrayLength: 0,
  });
});

test("a tracefs directory: names listed without parsing, lookups, ambiguity, suggestions", () => {
  const catalog = loadCatalog({ path: fixtureEvents });
  assert.equal(catalog.ids(), [
    "bar:dup",
    "foo:dup",
    "ftrace:function",
    "sched:sched_switch",
    "sched:sched_wakeup",
  ]);
  const found = catalog.find("sched_wakeup");
  assert.ok(found.ok && found.tracepoint.category === "sched");
  assert.equal(catalog.find("dup"), {
    ok: false,
    reason: "ambiguous",
    candidates: ["foo:dup", "bar:dup"].sort(),
  });
  const foo = catalog.find("foo:dup");
  assert.ok(foo.ok && foo.tracepoint.id === 224);
  assert.equal(catalog.find("sched_wakup"), {
    ok: false,
    reason: "unknown",
    suggestions: ["sched_wakeup"],
  });
  assert.equal(catalog.find("sched:sched_swich"), {
    ok: false,
    reason: "unknown",
    suggestions: ["sched:sched_switch"],
  });
});

test("the bundled snapshot: from a real kernel, with the classic tracepoints", () => {
  const bundled = loadBundledCatalog();
  assert.match(bundled.source, /^bundled:linux-\d/);
  assert.ok(bundled.kernelRelease);
  assert.ok(bundled.ids().length > 1000);
  for (const id of [
    "sched:sched_wakeup",
    "irq:irq_handler_entry",
    "block:block_rq_issue",
    "skb:kfree_skb",
    "syscalls:sys_enter_write",
  ]) {
    const [category, name] = id.split(":");
    assert.ok(bundled.get(category, name), id);
  }
});

test("a missing or malformed --catalog file is a CatalogError, not a crash", () => {
  assert.throws(
    () => loadCatalog({ path: "/nonexistent/catalog.json" }),
    (e: unknown) => e instanceof CatalogError,
  );
  const notCatalog = new URL("../fixtures/lt/not-utf8.lt", import.meta.url).pathname;
  assert.throws(
    () => loadCatalog({ path: notCatalog }),
    (e: unknown) => e instanceof CatalogError,
  );
  const malformedDir = mkdtempSync(join(tmpdir(), "ltsh-catalog-"));
  const malformed = join(malformedDir, "c.json");
  writeFileSync(malformed, JSON.stringify({ tracepoints: [{ category: "a", name: "b" }] }));
  assert.throws(
    () => loadCatalog({ path: malformed }),
    (e: unknown) =>
      e instanceof CatalogError && /tracepoints\[0\] is not a tracepoint/.test(e.message),
  );
  rmSync(malformedDir, { recursive: true, force: true });
});

test("the default catalog is live tracefs when readable, else the bundled snapshot", () => {
  let readable = false;
  try {
    readable = readdirSync("/sys/kernel/tracing/events").includes("sched");
  } catch {}
  const catalog = loadCatalog();
  if (readable) assert.is(catalog.source, "tracefs:/sys/kernel/tracing/events");
  else assert.match(catalog.source, /^bundled:/);
  assert.ok(catalog.find("sched_switch").ok);
});

test.run();
