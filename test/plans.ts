// Hand-built TrackerPlans over real tracepoint layouts (sched_wakeup, sched_switch as this
// kernel's tracefs formats give them), shared by every backend's tests that must not depend
// on the front end: the fixture half of the corpus (test/corpus.ts has the examples).

import type { TracepointField } from "../src/compiler/catalog/types.ts";
import type { SourceRange } from "../src/compiler/diagnostic.ts";
import type { Expr, ProbePlan, TrackerPlan, ValueType } from "../src/compiler/plan.ts";

const common: TracepointField[] = [
  { name: "common_type", cType: "unsigned short", offset: 0, size: 2, signed: false, common: true },
  { name: "common_flags", cType: "unsigned char", offset: 2, size: 1, signed: false, common: true },
  {
    name: "common_preempt_count",
    cType: "unsigned char",
    offset: 3,
    size: 1,
    signed: false,
    common: true,
  },
  { name: "common_pid", cType: "int", offset: 4, size: 4, signed: true, common: true },
];

function field(
  name: string,
  cType: string,
  offset: number,
  size: number,
  signed: boolean,
  arrayLength?: number,
): TracepointField {
  return {
    name,
    cType,
    offset,
    size,
    signed,
    common: false,
    ...(arrayLength ? { arrayLength } : {}),
  };
}

export const sched_wakeup: ProbePlan = {
  id: "sched:sched_wakeup",
  category: "sched",
  name: "sched_wakeup",
  eventId: 374,
  fields: [
    ...common,
    field("comm", "char", 8, 16, false, 16),
    field("pid", "pid_t", 24, 4, true),
    field("prio", "int", 28, 4, true),
    field("target_cpu", "int", 32, 4, true),
  ],
};

export const sched_switch: ProbePlan = {
  id: "sched:sched_switch",
  category: "sched",
  name: "sched_switch",
  eventId: 372,
  fields: [
    ...common,
    field("prev_comm", "char", 8, 16, false, 16),
    field("prev_pid", "pid_t", 24, 4, true),
    field("prev_prio", "int", 28, 4, true),
    field("prev_state", "long", 32, 8, true),
    field("next_comm", "char", 40, 16, false, 16),
    field("next_pid", "pid_t", 56, 4, true),
    field("next_prio", "int", 60, 4, true),
  ],
};

/** A source text and ranges into it, so that dumps show real `.lt` snippets. */
export function sourceRange(text: string, snippet: string, line = 1): SourceRange {
  const offset = text.indexOf(snippet);
  if (offset < 0) throw new Error(`'${snippet}' is not in '${text}'`);
  return {
    file: "test.lt",
    line,
    col: offset + 1,
    endLine: line,
    endCol: offset + snippet.length + 1,
    offset,
    endOffset: offset + snippet.length,
  };
}

export const i32: ValueType = { kind: "int", size: 4, signed: true };
export const i64: ValueType = { kind: "int", size: 8, signed: true };
export const comm16: ValueType = { kind: "string", size: 16 };

export function fieldExpr(probe: ProbePlan, name: string, range: SourceRange): Expr {
  const f = probe.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name} in ${probe.id}`);
  const type: ValueType = f.arrayLength
    ? { kind: "string", size: f.size }
    : { kind: "int", size: f.size as 1 | 2 | 4 | 8, signed: f.signed };
  return { kind: "field", field: f, type, range };
}

/** `track wakeup: sched_wakeup(pid) where prio < 100 -> sched_switch(next_pid) > 200us` */
export function wakeupPlan(overrides: Partial<TrackerPlan> = {}): TrackerPlan {
  const text = "track wakeup: sched_wakeup(pid) where prio < 100 -> sched_switch(next_pid) > 200us";
  const r = (s: string) => sourceRange(text, s);
  const prio = fieldExpr(sched_wakeup, "prio", r("prio"));
  const lit: Expr = { kind: "int", value: "100", type: i64, range: r("100") };
  return {
    name: "wakeup",
    begins: [
      {
        probe: sched_wakeup,
        key: [fieldExpr(sched_wakeup, "pid", r("pid"))],
        filter: {
          kind: "compare",
          op: "<",
          left: prio,
          right: lit,
          type: i32,
          range: r("prio < 100"),
        },
        range: r("sched_wakeup(pid) where prio < 100"),
      },
    ],
    ends: [
      {
        probe: sched_switch,
        key: [fieldExpr(sched_switch, "next_pid", r("next_pid"))],
        filter: null,
        range: r("sched_switch(next_pid)"),
      },
    ],
    keyTypes: [i32],
    thresholdNs: 200_000,
    timeoutNs: null,
    keep: "first",
    capacity: 8192,
    actions: [{ kind: "print", range: r("track") }],
    range: r(text),
    source: text,
    ...overrides,
  };
}

/**
 * The BPF programs a tracker loads: one per tracepoint its sides use (the sides there run
 * in turn), one per user-space probe site.
 */
export function expectedPrograms(plan: TrackerPlan): number {
  const sides = [...plan.ends, ...(plan.cancels ?? []), ...plan.begins];
  const tracepoints = new Set(sides.filter((s) => !s.probe.user).map((s) => s.probe.id));
  return tracepoints.size + sides.reduce((n, s) => n + (s.probe.user?.sites.length ?? 0), 0);
}
