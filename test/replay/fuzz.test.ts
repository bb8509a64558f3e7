// Mutated trace lines never crash a reader or the interpreter: every line is an event, a
// skipped line or a counted malformed line, and the seven examples keep running.

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import type { TraceEvent } from "../../src/replay/event.ts";
import { ftraceParser, parseFtraceLineByRegex, parsers } from "../../src/replay/formats.ts";
import {
  EventNameMatcher,
  FtraceByteEvent,
  scanFtraceBytes,
} from "../../src/replay/ftrace-bytes.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";
import { exampleFiles, examplePlan } from "../corpus.ts";

const FIXTURES = [
  "wakeup.txt",
  "mixed.txt",
  "block.txt",
  "net.txt",
  "wakeup.perf.txt",
  "wakeup.bt.txt",
];
const seeds = FIXTURES.flatMap((f) =>
  readFileSync(`test/fixtures/traces/${f}`, "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .slice(0, 60),
);
const trackers = exampleFiles().flatMap((file) => examplePlan(file, loadBundledCatalog()).trackers);

type Mutation = { at: number; kind: "delete" | "insert" | "replace" | "cut"; text: string };

const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("delete", "insert", "replace", "cut"),
  text: fc.oneof(
    fc.string({ maxLength: 4 }),
    fc.constantFrom("=", ":", " ", "[", "]", "(", ")", "-", "0x", "\u0000", "é", "==>", "+", ","),
  ),
});

function mutate(line: string, mutations: Mutation[]): string {
  let out = line;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === "delete") out = out.slice(0, at) + out.slice(at + m.text.length + 1);
    if (m.kind === "insert") out = out.slice(0, at) + m.text + out.slice(at);
    if (m.kind === "replace") out = out.slice(0, at) + m.text + out.slice(at + m.text.length);
    if (m.kind === "cut") out = out.slice(0, at);
  }
  return out;
}

test("mutated lines: no crash in any parser or in the interpreter", () => {
  const interpreter = new Interpreter({
    hit: () => {},
    warning: () => {},
  });
  for (const t of trackers) interpreter.add(t);
  let events = 0;
  let malformed = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (seed, mutations) => {
        const line = mutate(seed, mutations);
        for (const parse of Object.values(parsers)) {
          const result = parse(line, 1);
          if (typeof result === "string") malformed++;
          else if (result !== null) {
            events++;
            interpreter.feed(result);
          }
        }
      },
    ),
    { numRuns: 4000, seed: 42 },
  );
  assert.ok(events > 1000, `${events} mutated lines still parsed as events and were interpreted`);
  assert.ok(malformed > 1000, `${malformed} were reported malformed`);
  assert.ok(interpreter.summaries().length === trackers.length);
});

test("the fast tracefs scanner agrees with the general regex on every line both accept", () => {
  const fast = ftraceParser(["sched_switch", "sched_wakeup", "sys_enter", "irq_handler_entry"]);
  let compared = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(mutation, { maxLength: 3 }),
      (seed, mutations) => {
        const line = mutate(seed, mutations);
        const a = fast(line, 1);
        const b = parseFtraceLineByRegex(line, 1);
        if (a === null || b === null || typeof a === "string" || typeof b === "string") return;
        compared++;
        const context = (e: TraceEvent) => [
          e.comm,
          e.tid,
          e.pid,
          e.cpu,
          e.sec,
          e.nsec,
          e.name,
          e.payload,
        ];
        assert.equal(context(a), context(b), line);
      },
    ),
    { numRuns: 3000, seed: 7 },
  );
  assert.ok(compared > 500, `${compared} lines compared`);
});

test("the byte scanner agrees with the general regex on every line both accept", () => {
  const matcher = new EventNameMatcher(["sched_switch", "sched_wakeup", "irq_handler_entry"]);
  const event = new FtraceByteEvent();
  let compared = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(mutation, { maxLength: 3 }),
      (seed, mutations) => {
        const line = mutate(seed, mutations);
        const bytes = Buffer.from(line);
        event.reset(bytes, 0, bytes.length, 1);
        const rest = scanFtraceBytes(event);
        const b = parseFtraceLineByRegex(line, 1);
        if (rest < 0 || b === null || typeof b === "string" || !matcher.match(event, rest)) return;
        compared++;
        const context = (e: TraceEvent) => [
          e.comm,
          e.tid,
          e.pid,
          e.cpu,
          e.sec,
          e.nsec,
          e.name,
          e.payload,
        ];
        assert.equal(context(event), context(b), line);
      },
    ),
    { numRuns: 3000, seed: 11 },
  );
  assert.ok(compared > 300, `${compared} lines compared`);
});

test.run();
