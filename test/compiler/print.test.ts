// `then print(FIELD, ...)` and the key's task: what the checker refuses (ranges marked « »
// in the source), and what the plan carries for the backends (captures, the key's task).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { indexCatalog } from "../../src/compiler/catalog/index.ts";
import type { Catalog, Tracepoint } from "../../src/compiler/catalog/types.ts";
import type { BackendChoice } from "../../src/compiler/checker-backend.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import { catalog } from "./catalog-fixture.ts";
import { markRanges, parseMarked } from "./marked.ts";

const PAIR = "track sched_wakeup(args.pid) -> sched_switch(next_pid)";

/** A char array field of `size` bytes (the offset is the caller's). */
function chars(name: string, size: number) {
  return { name, cType: "char", offset: 0, size, signed: false, arrayLength: size, common: false };
}

/** A catalog of the bundled sched events plus one with a 128-byte name and 64-byte parts. */
function catalogWithLongName() {
  const base = catalog.get("sched", "sched_switch")!;
  const wakeup = catalog.get("sched", "sched_wakeup")!;
  const long: Tracepoint = {
    category: "test",
    name: "long_name",
    id: 9999,
    fields: [
      ...base.fields.filter((f) => f.common),
      { name: "pid", cType: "pid_t", offset: 8, size: 4, signed: true, common: false },
      { ...chars("label", 128), offset: 12 },
      ...[1, 2, 3, 4].map((n) => ({ ...chars(`part${n}`, 64), offset: 140 + 64 * n })),
    ],
  };
  const plain: Catalog = { source: "test", tracepoints: [base, wakeup, long] };
  return indexCatalog(plain);
}

const cases: [string, string, string[], BackendChoice?][] = [
  ["a field no probe has", `${PAIR} then print(«prev_stat»)`, ["print-field"]],
  ["a field of a third event", `${PAIR} then print(prio, «vec»)`, ["print-field"]],
  [
    "an array that is not a string",
    "track inet_sock_set_state(skaddr) -> inet_sock_set_state(skaddr) then print(«saddr»)",
    ["print-field-type"],
  ],
  ["fields on an action that takes none", `${PAIR} then snapshot(«prio»)`, ["action-argument"]],
  ["a side that is not one", `${PAIR} then print(«start».prio)`, ["print-field-side"]],
  ["a field the chosen side lacks", `${PAIR} then print(«begin.prev_state»)`, ["print-field"]],
  [
    "more than eight fields",
    `${PAIR} then print(prio, target_cpu, prev_state, next_prio, prev_prio, prev_pid, comm, prev_comm, «next_comm»)`,
    ["print-fields"],
  ],
  [
    "print fields on a chain",
    "track softirq_raise where vec == 3 ~> sched_switch then print(«vec»)",
    ["print-chain"],
  ],
];

for (const [what, marked, codes, backend] of cases) {
  test(what, () => {
    const { source } = parseMarked(marked);
    const { plan, diagnostics } = compileSource(source, "t.lt", { catalog, backend });
    const errors = diagnostics.filter((d) => d.severity === "error");
    assert.is(plan, null);
    assert.is(
      markRanges(
        source,
        errors.map((d) => d.range),
      ),
      marked,
      errors[0]?.message,
    );
    assert.equal(
      errors.map((d) => d.code),
      codes,
    );
  });
}

/** The one size error, at the marked field, with `message` in it. */
function assertSizeError(marked: string, message: string): void {
  const { source } = parseMarked(marked);
  const { diagnostics } = compileSource(source, "t.lt", { catalog: catalogWithLongName() });
  assert.equal(
    diagnostics.map((d) => d.code),
    ["print-field-size"],
  );
  assert.is(markRanges(source, [diagnostics[0].range]), marked);
  assert.match(diagnostics[0].message, message);
}

test("a string longer than a hit carries", () => {
  assertSizeError(
    "track long_name(pid) -> sched_switch(next_pid) then print(«label»)",
    "128-byte string; print carries strings of at most 64",
  );
});

test("fields that take more room than a hit carries", () => {
  assertSizeError(
    "track long_name(pid) -> sched_switch(next_pid) then print(part1, part2, part3, «part4»)",
    "at most 192 bytes of fields",
  );
});

test("an unknown field suggests the close names of either probe", () => {
  const { diagnostics } = compileSource(`${PAIR} then print(prev_stat)`, "t.lt", { catalog });
  assert.is(
    diagnostics[0].message,
    "neither the begin nor the end probe has a field 'prev_stat' (sched_wakeup or sched_switch)",
  );
  assert.equal(diagnostics[0].notes, ["did you mean prev_state?"]);
});

test("every backend carries print fields", () => {
  for (const backend of ["replay", "ebpf", "kmod"] as BackendChoice[]) {
    const { plan, diagnostics } = compileSource(`${PAIR} then print(prio)`, "t.lt", {
      catalog,
      backend,
    });
    assert.ok(plan, `${backend}: ${diagnostics[0]?.message}`);
  }
});

function tracker(source: string): TrackerPlan {
  const { plan, diagnostics } = compileSource(source, "t.lt", { catalog });
  assert.ok(plan, diagnostics.map((d) => d.message).join("; "));
  return plan!.trackers[0];
}

test("print fields: each probe reads its own, or nothing; names for states and syscalls", () => {
  const t = tracker(`${PAIR} then print(prev_state, prio)`);
  const shown = (t.captures ?? []).filter((c) => c.shown);
  assert.equal(
    shown.map((c) => [c.name, c.begins.map(Boolean), c.ends.map(Boolean), c.symbols]),
    [
      ["prev_state", [false], [true], "task-state"],
      ["prio", [true], [false], null],
    ],
  );
  const sys = tracker("track sys_enter($tid) -> sys_exit($tid) then print(id, ret)");
  assert.equal(
    (sys.captures ?? []).map((c) => [c.name, c.symbols]),
    [
      ["id", "syscall"],
      ["ret", null],
    ],
  );
});

test("begin. and end. choose a side: the other side reads nothing", () => {
  const t = tracker(
    "track sched_switch(prev_pid) -> sched_switch(next_pid) then print(prev_state, end.next_prio)",
  );
  assert.equal(
    (t.captures ?? [])
      .filter((c) => c.shown)
      .map((c) => [c.name, c.begins.map(Boolean), c.ends.map(Boolean)]),
    [
      ["prev_state", [true], [true]],
      ["end.next_prio", [false], [true]],
    ],
  );
});

test("the key's task: named by the comm beside a pid field, or by the event's task", () => {
  const wakeup = tracker(PAIR);
  const comm = wakeup.captures?.find((c) => !c.shown);
  assert.equal(
    [
      comm?.begins.map((e) => e?.kind === "field" && e.field.name),
      comm?.ends.map((e) => e?.kind === "field" && e.field.name),
    ],
    [["comm"], ["next_comm"]],
  );
  assert.equal(wakeup.keyTask?.index, 0);
  assert.equal(wakeup.keyTask?.ends, [{ kind: "capture", capture: 0 }]);
  const sys = tracker("track sys_enter($tid) -> sys_exit($pid)");
  assert.equal(sys.keyTask, {
    index: 0,
    begins: [{ kind: "thread" }],
    ends: [{ kind: "process" }],
  });
  assert.is(sys.captures, undefined, "the event's own task needs nothing captured");
  // a pid_t field with no comm beside it: a task, named by the live system only
  const kill = tracker("track sys_enter_kill(pid) -> sched_process_exit(pid)");
  assert.equal(kill.keyTask?.begins, [null]);
  // not tasks: a CPU, a journal transaction id (tid_t)
  assert.is(tracker("track sched_switch($cpu) -> sched_switch($cpu)").keyTask, undefined);
  assert.is(tracker("track jbd2_handle_start(tid) -> jbd2_handle_stats(tid)").keyTask, undefined);
});

test.run();
