// From a probe's spelling to attachable sites: the call the checker will make per
// user-space probe, on the workload's builds and libc.

import { realpathSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveUserProbe, splitUserProbe } from "../../src/compiler/uprobe/probe-target.ts";
import { resolveBinary } from "../../src/compiler/uprobe/resolve-path.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

test("spellings split into kind, path and the rest; others are not user-space probes", () => {
  assert.equal(splitUserProbe("usdt:./server:app:work__begin"), {
    kind: "usdt",
    path: "./server",
    spec: "app:work__begin",
  });
  assert.equal(splitUserProbe("uretprobe:libc:nanosleep"), {
    kind: "uretprobe",
    path: "libc",
    spec: "nanosleep",
  });
  assert.is(splitUserProbe("sched:sched_switch"), null);
  assert.is(splitUserProbe("uprobe:/bin/bash"), null);
});

test("usdt: every site with its semaphore and decoded arguments; a bare name finds the provider", () => {
  const { pie } = buildWorkload();
  const target = resolveUserProbe("usdt", pie, "guarded");
  assert.ok(target.ok);
  if (!target.ok) return;
  assert.is(target.value.name, "ltsh:guarded");
  assert.is(target.value.path, realpathSync(pie));
  assert.is(target.value.sites.length, 1);
  const [site] = target.value.sites;
  assert.ok(site.refCtrOffset > 0 && site.fileOffset > 0);
  assert.ok(site.arguments?.ok && site.arguments.value[0].text === "-8@%rdi");
});

test("usdt: a probe inlined twice has two sites", () => {
  const { pie } = buildWorkload();
  const target = resolveUserProbe("usdt", pie, "ltsh:tick");
  assert.ok(target.ok);
  if (!target.ok) return;
  const offsets = target.value.sites.map((s) => s.fileOffset);
  assert.is(offsets.length, 2);
  assert.ok(offsets[0] !== offsets[1]);
  assert.ok(target.value.sites.every((s) => s.refCtrOffset === 0 && s.arguments?.ok));
});

test("uprobe and uretprobe: one site at the function's file offset; IFUNCs flagged", () => {
  const { nopie } = buildWorkload();
  const entry = resolveUserProbe("uprobe", nopie, "lt_add");
  const exit = resolveUserProbe("uretprobe", nopie, "lt_add");
  assert.ok(entry.ok && exit.ok);
  if (entry.ok && exit.ok) {
    assert.equal(entry.value.sites, exit.value.sites);
    assert.is(entry.value.sites[0].fileOffset, entry.value.sites[0].address - 0x400000);
    assert.is(entry.value.indirect, undefined);
  }
  const memcpy = resolveUserProbe("uprobe", "libc", "memcpy");
  assert.ok(memcpy.ok && memcpy.value.indirect === true);
  const libc = resolveBinary("libc");
  assert.ok(memcpy.ok && libc.ok && memcpy.value.path === libc.value);
});

test("errors: binary, function, USDT probe, a uretprobe with an offset", () => {
  const { pie } = buildWorkload();
  const message = (r: { ok: true } | { ok: false; message: string }) => (r.ok ? "ok" : r.message);
  assert.is(message(resolveUserProbe("uprobe", "/no/such", "f")), "/no/such: no such file");
  assert.match(message(resolveUserProbe("uprobe", pie, "lt_addd")), /did you mean 'lt_add'\?$/);
  assert.match(message(resolveUserProbe("usdt", pie, "nope")), /^no USDT probe 'nope' in /);
  assert.is(
    message(resolveUserProbe("uretprobe", pie, "lt_forms+4")),
    "a uretprobe attaches to a function's entry: drop the +OFFSET",
  );
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/probe-target: ${skip}`);
else test.run();
