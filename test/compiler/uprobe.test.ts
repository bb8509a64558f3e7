// User-space probes in the language: every error issue #11 lists, at its caret, and the
// plan a checked probe becomes (fields typed from the note, sites, semaphores, argument
// locations), on the workload built from test/fixtures/usdt/.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import type { ProbePlan } from "../../src/compiler/plan.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { catalog } from "./catalog-fixture.ts";
import { markRanges, parseMarked } from "./marked.ts";

const skip = workloadSkipReason();
if (skip !== null) throw new Error(`the user-space probe workload cannot be built: ${skip}`);
const w = buildWorkload();
const P = w.pie;

function check(source: string, backend: "any" | "ebpf" | "kmod" | "replay" = "any") {
  return compileSource(source, "t.lt", { catalog, backend });
}

/** An ELF with one USDT name under two providers, for the ambiguity error. */
function twoProviders(): string {
  const c = join(w.dir, "two.c");
  writeFileSync(
    c,
    "#include <sys/sdt.h>\nint main(void) { STAP_PROBE(alpha, go); STAP_PROBE(beta, go); return 0; }\n",
  );
  execFileSync("gcc", ["-O2", c, "-o", join(w.dir, "two")]);
  return join(w.dir, "two");
}

const cases: [string, string, string[]][] = [
  [
    "missing binary",
    `track «uprobe:${w.dir}/nope:f»($tid) -> uretprobe:${P}:lt_add($tid)`,
    ["user-probe"],
  ],
  ["not ELF", `track «uprobe:/etc/passwd:f»($tid) -> uretprobe:${P}:lt_add($tid)`, ["user-probe"]],
  [
    "unknown symbol",
    `track «uprobe:${P}:lt_ad»($tid) -> uretprobe:${P}:lt_add($tid)`,
    ["user-probe"],
  ],
  [
    "unknown USDT probe",
    `track «usdt:${P}:work_begin»(arg0) -> usdt:${P}:work__end(arg0)`,
    ["user-probe"],
  ],
  [
    "argN beyond a USDT probe's arguments",
    `track usdt:${P}:tick(«arg1») -> usdt:${P}:work__end(arg0)`,
    ["argument-range"],
  ],
  [
    "argN beyond the registers",
    `track uprobe:${P}:lt_add(«arg6») -> uretprobe:${P}:lt_add(retval)`,
    ["argument-range"],
  ],
  [
    "retval on an entry probe, argN at a return",
    `track uprobe:${P}:lt_add(«retval») -> uretprobe:${P}:lt_add(«arg0»)`,
    ["retval-at-entry", "argument-at-return"],
  ],
  [
    "str() on what cannot be a pointer",
    `track usdt:${P}:registers(str(«arg0»)) -> uprobe:${P}:lt_add(str(«$pid»))`,
    ["str-not-pointer", "str-not-pointer"],
  ],
  [
    "str() at a tracepoint, an unknown function",
    "track sched_wakeup(str(«pid»)) -> sched_switch(«strn»(next_pid))",
    ["str-not-pointer", "unknown-function"],
  ],
  [
    "a uretprobe with an offset, a spelling with no symbol",
    `track «uretprobe:${P}:lt_add+4»($tid) -> «usdt:${P}»($tid)`,
    ["user-probe", "user-probe"],
  ],
];

for (const [what, marked, codes] of cases) {
  test(what, () => {
    const { source } = parseMarked(marked);
    const { plan, diagnostics } = check(source);
    const errors = diagnostics.filter((d) => d.severity === "error");
    assert.is(plan, null);
    assert.is(
      markRanges(
        source,
        errors.map((d) => d.range),
      ),
      marked,
      errors.map((d) => `${d.code}: ${d.message}`).join("; "),
    );
    assert.equal(
      errors.map((d) => d.code),
      codes,
    );
  });
}

function firstError(source: string): string {
  const d = check(source).diagnostics[0];
  return [d.message, ...(d.notes ?? [])].join(" | ");
}

test("messages: suggestions, the probe list, the register count", () => {
  assert.is(
    firstError(`track uprobe:${P}:lt_ad($tid) -> uretprobe:${P}:lt_add($tid)`),
    `no function 'lt_ad' in ${P}; did you mean 'lt_add'? | list a binary's functions with: ltsh events 'uprobe:PATH:PATTERN*'`,
  );
  const missing = firstError(`track usdt:${P}:work_begin(arg0) -> usdt:${P}:work__end(arg0)`);
  assert.match(missing, `no USDT probe 'work_begin' in ${P}; did you mean 'work__begin'?`);
  assert.match(missing, "ltsh:work__end");
  assert.match(missing, "ltsh:guarded");
  assert.is(
    firstError(`track usdt:${P}:tick(arg1) -> usdt:${P}:work__end(arg0)`),
    "arg1 is beyond the arguments of USDT probe ltsh:tick: its note declares arg0 only",
  );
  assert.is(
    firstError(`track uprobe:${P}(x) -> a(x)`),
    `'uprobe:${P}' names no probe: write uprobe:PATH:SYMBOL`,
  );
});

test("an ambiguous USDT name names each provider's spelling", () => {
  const two = twoProviders();
  assert.is(
    firstError(`track usdt:${two}:go($tid) -> usdt:${two}:beta:go($tid)`),
    `USDT probe 'go' is ambiguous in ${two}: write usdt:${two}:alpha:go, usdt:${two}:beta:go`,
  );
  assert.is(
    check(`track usdt:${two}:alpha:go($tid) -> usdt:${two}:beta:go($tid)`).plan !== null,
    true,
  );
});

function probes(source: string): ProbePlan[] {
  const { plan, diagnostics } = check(source);
  assert.ok(plan, diagnostics.map((d) => d.message).join("; "));
  return plan.trackers.flatMap((t) => [...t.begins, ...t.ends].map((s) => s.probe));
}

test("USDT fields take the note's size and sign; a probe inlined twice has two sites", () => {
  const [widths, tick] = probes(`track usdt:${P}:widths(arg0) -> usdt:${P}:ltsh:tick(arg0)`);
  assert.equal(
    widths.fields.map((f) => f.cType),
    ["u8", "s16", "s8", "s32", "s16", "u8"],
  );
  assert.is(widths.id, `usdt:${P}:ltsh:widths`);
  assert.is(widths.name, "widths");
  assert.is(tick.user?.sites.length, 2);
  const events = tick.user!.sites.map((s) => s.recorderEvent);
  assert.match(events[0], /^ltu_tick_[0-9a-f]{4}_0$/);
  assert.is(events[1], events[0].replace(/_0$/, "_1"));
});

test("a guarded probe carries its semaphore; %rip symbols are relocated, frames are %rbp-based", () => {
  const [guarded, globals, frame] = probes(
    `track usdt:${P}:guarded(arg0) -> usdt:${P}:globals(arg0)\ntrack usdt:${P}:frame(arg0) -> usdt:${P}:frame(arg0)`,
  );
  assert.ok(guarded.user!.sites[0].refCtrOffset > 0);
  assert.is(globals.user!.sites[0].refCtrOffset, 0);
  const table = frame.user!.sites[0].arguments[1];
  assert.is(table.text, "-4@48+lt_table(%rip)");
  assert.is(table.location.kind === "memory" && table.location.relocated, true);
  const frameArg = frame.user!.sites[0].arguments[0];
  assert.match(frameArg.text, /\(%rbp\)$/);
  assert.is(frameArg.location.kind === "memory" && frameArg.location.base, 32); // pt_regs.bp
});

test("uprobe, uretprobe: six u64 registers, retval in %rax; PIE, non-PIE, stripped, libc", () => {
  const [entry, exit] = probes(`track uprobe:${P}:lt_add+3($tid) -> uretprobe:${P}:lt_add($tid)`);
  assert.equal(
    entry.fields.map((f) => `${f.name}:${f.cType}`),
    ["arg0:u64", "arg1:u64", "arg2:u64", "arg3:u64", "arg4:u64", "arg5:u64"],
  );
  assert.is(entry.user!.sites[0].fileOffset, exit.user!.sites[0].fileOffset + 3);
  assert.equal(
    exit.fields.map((f) => f.name),
    ["retval"],
  );
  assert.is(exit.user!.sites[0].arguments[0].text, "%rax");
  const [pie, nopie, stripped] = probes(
    `track uprobe:${P}:lt_add($tid) -> uprobe:${w.nopie}:lt_add($tid)\ntrack uprobe:${w.stripped}:lt_add($tid) -> uprobe:libc:getppid($tid)`,
  );
  assert.is(pie.user!.sites[0].fileOffset, stripped.user!.sites[0].fileOffset);
  // Non-PIE: the link-time address is not the file offset.
  assert.is.not(nopie.user!.sites[0].address, nopie.user!.sites[0].fileOffset);
  const libc = probes(`track uprobe:libc:getppid($tid) -> uretprobe:libc:getppid($tid)`)[0];
  assert.match(libc.user!.path, /libc\.so\.6$/);
});

test("str() keys and filters type as 64-byte strings", () => {
  const { plan } = check(
    `track uprobe:${P}:lt_greet(str(arg0)) where str(arg0) == "ltsh" -> uretprobe:${P}:lt_greet(str(retval))`,
  );
  assert.ok(plan);
  assert.equal(plan.trackers[0].keyTypes, [{ kind: "string", size: 64 }]);
  assert.is(plan.trackers[0].name, "lt_greet_to_lt_greet");
});

test("every backend runs user-space probes, kmod included", () => {
  const source = `track sched_wakeup(pid) -> usdt:${P}:work__end(arg0)`;
  for (const backend of ["any", "ebpf", "kmod", "replay"] as const) {
    const { plan, diagnostics } = check(source, backend);
    assert.ok(plan, `${backend}: ${diagnostics[0]?.message}`);
  }
});

test("then stack at a user-space end probe is a warning at the action", () => {
  const { plan, diagnostics } = check(
    `track uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid) then print, stack`,
  );
  assert.ok(plan);
  assert.equal(
    diagnostics.map((d) => [d.severity, d.code, d.range.col]),
    [["warning", "stack-at-user-probe", plan.trackers[0].source.indexOf("stack") + 1]],
  );
});

test("user-space probes are chain steps on every backend, kmod included", () => {
  const source = `track usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0) ~> sys_enter_write until run`;
  for (const backend of ["any", "replay", "ebpf", "kmod"] as const) {
    const { plan, diagnostics } = check(source, backend);
    assert.equal(diagnostics, [], backend);
    assert.equal(
      plan!.trackers[0].chain!.steps.map((s) => [s.via, s.side.probe.id]),
      [
        ["origin", `usdt:${P}:ltsh:work__begin`],
        ["key", `usdt:${P}:ltsh:work__end`],
        ["context", "syscalls:sys_enter_write"],
      ],
    );
  }
});

test.run();
