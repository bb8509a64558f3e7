// Replay of `then print(FIELD, ...)` and of the key's task name over recorded traces: each
// hit's names and fields are checked against the trace line of its end event, as a person
// reading the trace would find them.

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import { formatHitLine, hitToJson } from "../../src/records/output.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { catalog } from "../compiler/catalog-fixture.ts";

async function replay(source: string, trace: string): Promise<HitRecord[]> {
  const { plan, diagnostics } = compileSource(source, "t.lt", { catalog, backend: "replay" });
  assert.ok(plan, diagnostics.map((d) => d.message).join("; "));
  const hits: HitRecord[] = [];
  const session = await openSession("replay", {
    options: plan!.options,
    listener: { hit: (h) => hits.push(h), warning: () => {} },
    replay: { path: trace },
  });
  for (const t of plan!.trackers) await session.add(t);
  await session.done?.();
  await session.close();
  return hits;
}

/** The trace's line of an event: its CPU and its time, as the trace prints them. */
function lineOf(trace: string, event: string, cpu: number, tsNs: bigint): string {
  const seconds = `${tsNs / 1_000_000_000n}.${String((tsNs % 1_000_000_000n) / 1000n).padStart(6, "0")}`;
  const cpuText = `[${String(cpu).padStart(3, "0")}]`;
  const line = readFileSync(trace, "utf8")
    .split("\n")
    .find((l) => l.includes(cpuText) && l.includes(` ${seconds}: ${event}:`));
  assert.ok(line, `the ${event} at ${seconds} on cpu${cpu}`);
  return line!;
}

const WAKEUPS = "test/fixtures/traces/wakeup.txt";

test("a wakeup hit names the woken task by the switch-in's next_comm, with prev_state letters", async () => {
  const hits = await replay(
    "track w: sched_wakeup(args.pid) -> sched_switch(next_pid) > 100us then print(prev_state, prio)",
    WAKEUPS,
  );
  assert.ok(hits.length > 3, `${hits.length} hits`);
  for (const hit of hits) {
    const line = lineOf(WAKEUPS, "sched_switch", hit.end!.cpu, hit.end!.ts_ns);
    const nextComm = / next_comm=(.*) next_pid=/.exec(line)![1];
    const state = / prev_state=(\S+) /.exec(line)![1];
    assert.is(hit.key_comm, nextComm, line);
    assert.is(hit.fields_text?.prev_state, state, line);
    assert.ok(typeof hit.fields?.prio === "bigint", "prio is the wakeup's, an integer");
    const shown = formatHitLine(hit);
    assert.ok(shown.includes(`key=${hit.key[0]} (${nextComm}) `), shown);
    assert.ok(shown.endsWith(` prev_state=${state} prio=${hit.fields?.prio}`), shown);
    const json = JSON.parse(hitToJson(hit));
    assert.equal(json.fields_text, { prev_state: state });
    assert.is(json.key_comm, nextComm);
  }
});

test("a field both probes have is the begin's; end.FIELD is the end's", async () => {
  const hits = await replay(
    "track off: sched_switch(prev_pid) where prev_state > 0 -> sched_switch(next_pid) > 100us then print(prev_state, end.next_prio, prev_comm)",
    WAKEUPS,
  );
  assert.ok(hits.length > 0, `${hits.length} hits`);
  for (const hit of hits) {
    const begin = lineOf(WAKEUPS, "sched_switch", hit.begin.cpu, hit.begin.ts_ns);
    const end = lineOf(WAKEUPS, "sched_switch", hit.end!.cpu, hit.end!.ts_ns);
    assert.is(hit.fields_text?.prev_state, / prev_state=(\S+) /.exec(begin)![1], begin);
    assert.is(
      hit.fields?.prev_comm,
      / prev_comm=(.*) prev_pid=/.exec(begin)![1],
      "the task going off the CPU",
    );
    assert.is(hit.fields?.["end.next_prio"], BigInt(/ next_prio=(\d+)/.exec(end)![1]), end);
    assert.ok(formatHitLine(hit).includes(" end.next_prio="), formatHitLine(hit));
  }
});

const MIXED = "test/fixtures/traces/mixed.txt";

test("a system call hit prints its number by name and its return value", async () => {
  const hits = await replay(
    "track s: sys_enter($tid) -> sys_exit($tid) > 5us timeout 1s then print(id, ret)",
    MIXED,
  );
  const ends = hits.filter((h) => h.kind === "threshold");
  assert.ok(ends.length > 3, `${ends.length} hits`);
  const names: Record<string, string> = { 0: "read", 1: "write", 3: "close", 7: "poll" };
  for (const hit of ends) {
    const line = lineOf(MIXED, "sys_exit", hit.end!.cpu, hit.end!.ts_ns);
    const [, nr, ret] = /sys_exit: NR (\d+) = (-?\d+)/.exec(line)!;
    assert.is(hit.fields?.id, BigInt(nr), line);
    assert.is(hit.fields?.ret, BigInt(ret), line);
    if (names[nr]) assert.is(hit.fields_text?.id, names[nr], line);
    assert.is(hit.key_comm, hit.end!.comm, "$tid: the event's own task");
  }
});

test("a timeout carries the begin's fields and leaves the end's null", async () => {
  const hits = await replay(
    "track s: sys_enter($tid) -> sys_exit($tid) timeout 1ms then print(id, ret)",
    MIXED,
  );
  const timeouts = hits.filter((h) => h.kind === "timeout");
  assert.ok(timeouts.length > 0, "the trace has a system call longer than 1ms");
  for (const hit of timeouts) {
    const line = lineOf(MIXED, "sys_enter", hit.begin.cpu, hit.begin.ts_ns);
    assert.is(hit.fields?.id, BigInt(/sys_enter: NR (\d+)/.exec(line)![1]), line);
    assert.is(hit.fields?.ret, null, "ret is the end's: there is none");
    assert.ok(formatHitLine(hit).includes(" ret=-"), formatHitLine(hit));
  }
});

test.run();
