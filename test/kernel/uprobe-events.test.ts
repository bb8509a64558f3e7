// tracefs uprobe_events entries for the recorder: every USDT probe of the workload (PIE and
// non-PIE) recorded with fetch arguments derived from its note, each value checked against
// what the workload passed; entries removed on remove(); a dead ltsh's entries removed at
// the next start.

import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { resolveUserProbe } from "../../src/compiler/uprobe/probe-target.ts";
import { recorderEvents } from "../../src/compiler/uprobe/recorder-events.ts";
import { readUsdtProbes } from "../../src/compiler/uprobe/usdt-notes.ts";
import { TracefsInstance } from "../../src/kernel/tracefs.ts";
import {
  removeStaleUprobeEvents,
  type UprobeEventSpec,
  UprobeEvents,
  uprobeEventLine,
} from "../../src/kernel/uprobe-events.ts";
import { buildWorkload, expectedArguments, workloadSkipReason } from "../uprobe/workload.ts";
import { kernelSkipReason, reportSkip, tracefsRoot } from "./support.ts";

/** The recorder's events for every USDT probe of `path`; `probeOf` maps event → probe. */
function eventSpecs(path: string) {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  const probes = readUsdtProbes(opened.value);
  opened.value.close();
  if (!probes.ok) throw new Error(probes.message);
  const specs: UprobeEventSpec[] = [];
  const probeOf = new Map<string, string>();
  const unreadable: string[] = [];
  for (const probe of probes.value) {
    const name = probe.name;
    if (probeOf.has(name) || probeOf.has(`${name}_0`)) continue;
    const target = resolveUserProbe("usdt", path, `${probe.provider}:${name}`);
    if (!target.ok) throw new Error(target.message);
    const events = recorderEvents(target.value, name);
    if (!events.ok) throw new Error(events.message);
    for (const spec of events.value.specs) probeOf.set(spec.name, name);
    specs.push(...events.value.specs);
    unreadable.push(...events.value.unreadable.map((u) => u.slice(0, u.indexOf(":"))));
  }
  return { specs, probeOf, unreadable };
}

/** "name: (0x…) arg0=5 retval=7" lines (uretprobes: "(0x… <- 0x…)") → name → { arg: value }[]. */
function parseTrace(text: string): Map<string, Record<string, number>[]> {
  const events = new Map<string, Record<string, number>[]>();
  for (const match of text.matchAll(
    / (\w+): \(0x[0-9a-f]+(?: <- 0x[0-9a-f]+)?\)((?: \w+=\S+)*)$/gm,
  )) {
    const args: Record<string, number> = {};
    for (const [, name, value] of match[2].matchAll(/ (\w+)=(\S+)/g)) args[name] = Number(value);
    events.set(match[1], [...(events.get(match[1]) ?? []), args]);
  }
  return events;
}

/** The thread ids of the trace lines of event `name` ("comm-TID (PID) [CPU] … name:"). */
function threadsOf(text: string, name: string): number[] {
  return [
    ...text.matchAll(new RegExp(`-(\\d+)\\s+(?:\\(\\s*\\d+\\)\\s+)?\\[\\d+\\].* ${name}: `, "g")),
  ].map((m) => Number(m[1]));
}

test("uprobe_events lines: probe, retprobe, semaphore and fetch arguments", () => {
  assert.is(
    uprobeEventLine("ltsh_1", {
      name: "guarded",
      path: "/w",
      fileOffset: 0x1590,
      refCtrOffset: 0x3100,
      fetchArgs: ["arg0=%di:s64"],
    }),
    "p:ltsh_1/guarded /w:0x1590(0x3100) arg0=%di:s64",
  );
  assert.is(
    uprobeEventLine("ltsh_1", { name: "ret", path: "/w", fileOffset: 0x10, retprobe: true }),
    "r:ltsh_1/ret /w:0x10",
  );
});

test("every USDT argument uprobe_events can read has the workload's value (PIE, non-PIE, library)", () => {
  const builds = buildWorkload();
  for (const path of [builds.pie, builds.nopie]) {
    const workload = eventSpecs(path);
    const library = eventSpecs(builds.library);
    const specs = [...workload.specs, ...library.specs];
    const probeOf = new Map([...workload.probeOf, ...library.probeOf]);
    const unreadable = [...workload.unreadable, ...library.unreadable];
    // Only the indexed operands are beyond fetch arguments.
    assert.equal(unreadable, ["indexed.arg0", "scaled.arg0", "scaled.arg1"]);
    const events = UprobeEvents.create(specs);
    const instance = TracefsInstance.create({ purpose: "uprobe-test", overwrite: false });
    try {
      instance.enableEvents(events.ids);
      instance.resume();
      const run = spawnSync(path, ["3"], { encoding: "utf8" });
      assert.is(
        run.stdout.trim(),
        "iterations=3 sum=318 enabled=1 lib_enabled=1",
        "semaphores raised",
      );
      instance.freeze();
      const seen = parseTrace(instance.readTrace());
      for (const spec of specs) {
        const recorded = spec.fetchArgs?.map((f) => f.slice(0, f.indexOf("="))) ?? [];
        const expected = [1, 2, 3].map((i) =>
          Object.fromEntries(
            recorded.map((name) => [
              name,
              expectedArguments(i)[probeOf.get(spec.name)!][Number(name.slice(3))],
            ]),
          ),
        );
        assert.equal(seen.get(spec.name), expected, `${path} ${spec.name}`);
      }
      const eventOf = (probe: string) => [...probeOf].find(([, p]) => p === probe)![0];
      const threads = (probe: string) => new Set(threadsOf(instance.readTrace(), eventOf(probe)));
      assert.equal([...threads("work__begin")], [run.pid], "begins on the main thread");
      const ends = [...threads("work__end")];
      assert.is(ends.length, 1);
      assert.is.not(ends[0], run.pid, "ends on the worker thread");
    } finally {
      instance.remove();
      events.remove();
    }
    const left = readFileSync(join(tracefsRoot(), "uprobe_events"), "utf8");
    assert.not.match(left, new RegExp(`ltsh_${process.pid}/`), "every entry removed");
  }
});

test("function arguments and return values through the recorder's uprobe and uretprobe events", () => {
  const { pie } = buildWorkload();
  const specs = (["uprobe", "uretprobe"] as const).flatMap((kind) => {
    const target = resolveUserProbe(kind, pie, "lt_add");
    if (!target.ok) throw new Error(target.message);
    const events = recorderEvents(target.value, `${kind}:lt_add`);
    if (!events.ok) throw new Error(events.message);
    return events.value.specs;
  });
  assert.equal(
    specs.map((s) => [s.name, s.retprobe ?? false, s.fetchArgs?.length]),
    [
      ["uprobe_lt_add", false, 6],
      ["uretprobe_lt_add", true, 1],
    ],
  );
  const events = UprobeEvents.create(specs);
  const instance = TracefsInstance.create({ purpose: "uprobe-test", overwrite: false });
  try {
    instance.enableEvents(events.ids);
    instance.resume();
    spawnSync(pie, ["4"]);
    instance.freeze();
    const seen = parseTrace(instance.readTrace());
    const entries = seen.get("uprobe_lt_add")?.map(({ arg0, arg1 }) => ({ arg0, arg1 }));
    assert.equal(
      entries,
      [1, 2, 3, 4].map((i) => ({ arg0: i, arg1: 100 })),
    );
    assert.equal(
      seen.get("uretprobe_lt_add"),
      [1, 2, 3, 4].map((i) => ({ retval: i + 100 })),
    );
  } finally {
    instance.remove();
    events.remove();
  }
});

test("entries a dead ltsh left are removed at the next start; live ones stay", () => {
  const { pie } = buildWorkload();
  const dead = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  const deadPid = Number(dead.stdout.trim());
  const file = join(tracefsRoot(), "uprobe_events");
  appendFileSync(file, `p:ltsh_${deadPid}/stale ${pie}:0x1000\n`);
  const events = UprobeEvents.create([{ name: "mine", path: pie, fileOffset: 0x1000 }]);
  try {
    const left = readFileSync(file, "utf8");
    assert.not.match(left, new RegExp(`ltsh_${deadPid}/stale`), "create() removed the stale entry");
    assert.match(left, new RegExp(`ltsh_${process.pid}/mine`));
    assert.equal(removeStaleUprobeEvents(tracefsRoot()), [], "our own entries are not stale");
  } finally {
    events.remove();
  }
});

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-events", skip);
else test.run();
