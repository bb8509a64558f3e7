// Every user mistake the checker promises to catch, with the expected range marked in the
// source by « » and the diagnostic's code; plus a few messages checked word for word.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import { catalog } from "./catalog-fixture.ts";
import { markRanges, parseMarked } from "./marked.ts";

const W = "sched_wakeup(args.pid)";
const S = "sched_switch(next_pid)";

/** [what, marked source, codes of the errors in source order] */
const cases: [string, string, string[]][] = [
  ["misspelt keyword", `«trak» ${W} -> ${S}`, ["expected-statement"]],
  ["misspelt clause keyword", `track ${W} -> ${S} «timout» 5ms`, ["syntax"]],
  ["unknown tracepoint", `track «sched_wakup»(pid) -> ${S}`, ["unknown-tracepoint"]],
  ["unknown category:name", `track «sched:sched_wakup»(pid) -> ${S}`, ["unknown-tracepoint"]],
  ["unknown field", `track ${W} -> sched_switch(«nxt_pid»)`, ["unknown-field"]],
  ["unknown args. field", `track sched_wakeup(«args.tid») -> ${S}`, ["unknown-field"]],
  ["unknown builtin", `track sched_wakeup(«$tgid») -> ${S}`, ["unknown-builtin"]],
  ["key arity", `track sched_wakeup(args.pid, prio) -> «${S}»`, ["key-arity"]],
  ["key types", `track ${W} -> sched_switch(«next_comm»)`, ["key-type"]],
  ["duration without unit", `track ${W} -> ${S} > «200»`, ["duration-unit"]],
  ["unknown unit", `track ${W} -> ${S} > «200usec»`, ["duration-unit"]],
  [
    "a unit named like an Object property",
    `track ${W} -> ${S} > «5constructor»`,
    ["duration-unit"],
  ],
  ["zero threshold", `track ${W} -> ${S} > «0us»`, ["duration-range"]],
  ["negative timeout", `track ${W} -> ${S} timeout «-5ms»`, ["duration-range"]],
  ["absurd timeout", `track ${W} -> ${S} timeout «3601s»`, ["duration-range"]],
  ["char array vs number", `track ${W} where «comm == 5» -> ${S}`, ["type-mismatch"]],
  ["string ordered", `track ${W} where «comm < "a"» -> ${S}`, ["string-order"]],
  ["filter not a condition", `track ${W} where «prio» -> ${S}`, ["not-a-condition"]],
  ["condition as key", `track sched_wakeup(«prio > 1») -> ${S}`, ["key-condition"]],
  ["unit in a comparison", `track ${W} where prio == «5ms» -> ${S}`, ["unit-in-expression"]],
  ["duplicate names", `track a: ${W} -> ${S}\ntrack «a»: ${W} -> ${S}`, ["duplicate-name"]],
  ["unknown action", `track ${W} -> ${S} then print, «snapshoot»`, ["unknown-action"]],
  ["exec without command", `track ${W} -> ${S} then «exec»`, ["action-argument"]],
  ["action with an argument", `track ${W} -> ${S} then stack «"x"»`, ["action-argument"]],
  ["exec with an open quote", `track ${W} -> ${S} then exec «"sh -c 'x"»`, ["exec-command"]],
  ["unterminated string", `track ${W} -> ${S} then exec «"echo hi»`, ["unterminated-string"]],
  ["bad keep", `track ${W} -> ${S} keep «newest»`, ["keep-policy"]],
  ["capacity zero", `track ${W} -> ${S} capacity «0»`, ["capacity-range"]],
  ["capacity too large", `track ${W} -> ${S} capacity «2000000»`, ["capacity-range"]],
  ["duplicate clause", `track ${W} -> ${S} > 1ms «> 2ms»`, ["duplicate-clause"]],
  ["unknown option", `set «snapshot.bufer» = 8MiB`, ["unknown-option"]],
  ["bad size unit", `set snapshot.buffer = «8MB»`, ["size-unit"]],
  ["option list where one value", `set snapshot.dir = a, «b»`, ["option-value"]],
  ["ring buffer not a power of two", `«set ringbuf.size = 300KiB»`, ["option-value"]],
  [
    "unknown snapshot event",
    `set snapshot.events = sched_switch, «sched_swtch»`,
    ["unknown-tracepoint"],
  ],
  [
    "unsupported field",
    `track inet_sock_set_state(«saddr») -> inet_sock_set_state(skaddr)`,
    ["unsupported-field"],
  ],
  ["stray character", `track ${W} -> ${S} «@»`, ["unexpected-character"]],
  [
    "nesting deep enough to threaten the stack",
    `track ${W} where ${"(".repeat(32)}«(»prio > 1${")".repeat(33)} -> ${S}`,
    ["too-complex"],
  ],
  [
    "a statement of more than 2000 tokens",
    `«track» ${W} where ${Array(500).fill("prio > 1").join(" || ")} -> ${S}`,
    ["too-complex"],
  ],
  [
    "several errors at once",
    `track «sched_wakup»(pid) -> ${S}\ntrack ${W} -> sched_switch(«nxt_pid») > «5x»`,
    ["unknown-tracepoint", "unknown-field", "duration-unit"],
  ],
  [
    "syntax errors do not hide the other statements' errors",
    `track «sched_wakup»(pid) -> ${S}\ntrack ${W} -> ${S} «timout» 5ms\ntrack ${W} -> ${S} > «5x»`,
    ["unknown-tracepoint", "syntax", "duration-unit"],
  ],
  [
    "several syntax errors at once",
    `«trak» ${W} -> ${S}\ntrack ${W} «=»> ${S}\nset x «+»`,
    ["expected-statement", "syntax", "unexpected-character"],
  ],
];

for (const [what, marked, codes] of cases) {
  test(what, () => {
    const { source } = parseMarked(marked);
    const { plan, diagnostics } = compileSource(source, "t.lt", { catalog });
    const errors = diagnostics.filter((d) => d.severity === "error");
    assert.is(plan, null);
    const actual = markRanges(
      source,
      errors.map((d) => d.range),
    );
    assert.is(actual, marked, `codes: ${errors.map((d) => `${d.code}: ${d.message}`).join("; ")}`);
    assert.equal(
      errors.map((d) => d.code),
      codes,
    );
  });
}

function firstError(source: string) {
  return compileSource(source, "t.lt", { catalog }).diagnostics[0];
}

test("habits from other languages get a note", () => {
  for (const [filter, note] of [
    ["prio = 5", "compare with =="],
    ["prio > 5 and prio < 9", "'and' is &&"],
    ["prio > 5 & prio < 9", "'and' is &&"],
    ["not prio > 5", "'not' is !"],
  ]) {
    const { diagnostics } = compileSource(`track ${W} where ${filter} -> ${S}`, "t.lt", {
      catalog,
    });
    assert.is(diagnostics.length, 1, filter);
    assert.equal(diagnostics[0].notes, [note], filter);
  }
});

test("a unit separated from its number", () => {
  const d = firstError(`track ${W} -> ${S} > 200 us`);
  assert.is(d.message, "unexpected 'us' after a complete statement");
  assert.equal(d.notes, ["write 200us, without a space"]);
});

test("unknown tracepoint: did you mean", () => {
  const d = firstError(`track sched_wakup(pid) -> ${S}`);
  assert.is(d.message, "unknown tracepoint 'sched_wakup'");
  assert.is(d.notes?.[0], "did you mean sched_wakeup or sched_waking?");
});

test("a tracker name glued to its probe: the note says to add a space", () => {
  const d = firstError(`track wakeup:sched_wakeup(args.pid) -> ${S}`);
  assert.ok(d.notes?.some((n) => n.includes("track wakeup: sched_wakeup(...)")));
});

test("unknown field: lists the event's fields", () => {
  const d = firstError(`track ${W} -> sched_switch(nxt_pid)`);
  assert.is(d.message, "sched:sched_switch has no field 'nxt_pid'");
  assert.is(d.notes?.[0], "did you mean next_pid?");
  assert.match(
    d.notes?.[1] ?? "",
    /^fields of sched_switch: prev_comm, prev_pid, .*next_pid, next_prio; builtins: tid, pid/,
  );
});

test("key types: names both types", () => {
  const d = firstError(`track ${W} -> sched_switch(next_comm)`);
  assert.is(d.message, "key 1 is a string (char[16]) here but an integer (s32) in sched_wakeup");
});

test("unknown option: names the known ones", () => {
  const d = firstError("set snapshot.bufer = 8MiB");
  assert.equal(d.notes?.[0], "did you mean snapshot.buffer?");
  assert.match(d.notes?.[1] ?? "", /^options: snapshot.events, snapshot.buffer, .*ringbuf.size$/);
});

test("unknown action: lists the actions", () => {
  const d = firstError(`track ${W} -> ${S} then snapshoot`);
  assert.is(d.message, "unknown action 'snapshoot'; actions: print, snapshot, stack, exec");
  assert.equal(d.notes, ["did you mean snapshot?"]);
});

test("a bare name that is both a field and a builtin means the field, silently", () => {
  const { plan, diagnostics } = compileSource(`track sched_wakeup(pid) -> ${S}`, "t.lt", {
    catalog,
  });
  assert.equal(diagnostics, []);
  const key = plan?.trackers[0].begins[0].key[0];
  assert.is(key?.kind, "field");
  assert.is(key?.kind === "field" && key.field.name, "pid");
});

test("args.pid and $pid are silent and mean the field and the builtin", () => {
  const { plan, diagnostics } = compileSource(
    `track sched_wakeup(args.pid, $pid) -> sched_switch(next_pid, $pid)`,
    "t.lt",
    { catalog },
  );
  assert.equal(diagnostics, []);
  assert.equal(
    plan?.trackers[0].begins[0].key.map((k) => k.kind),
    ["field", "builtin"],
  );
});

test("an action listed twice runs once, with a warning", () => {
  const { plan, diagnostics } = compileSource(
    `track ${W} -> ${S} then stack, print, stack`,
    "t.lt",
    { catalog },
  );
  assert.equal(
    diagnostics.map((d) => [d.severity, d.code]),
    [["warning", "duplicate-action"]],
  );
  assert.equal(
    plan?.trackers[0].actions.map((a) => a.kind),
    ["stack", "print"],
  );
});

test("an empty file and a comment-only file are errors", () => {
  assert.is(firstError("").code, "empty-program");
  assert.is(firstError("# nothing\n").message, "t.lt has no statement (only comments)");
});

test.run();
