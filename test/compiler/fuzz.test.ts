// Robustness: random token soups, mutated examples and arbitrary strings never crash the
// front end. Each input yields a plan or errors, with ranges inside the text, renderable,
// in bounded time. 10,000+ inputs per run (fast-check; the seed is printed on failure).

import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileSource } from "../../src/compiler/compile.ts";
import { hasErrors } from "../../src/compiler/diagnostic.ts";
import { renderDiagnostic } from "../../src/compiler/render.ts";
import { exampleFiles, exampleSource } from "../corpus.ts";
import { catalog } from "./catalog-fixture.ts";

const examples = exampleFiles().map(exampleSource);

// Generous: a pathological input takes seconds; a GC pause on a loaded machine takes tens of ms.
const MAX_MS_PER_INPUT = 1000;

/** The property every input must satisfy. */
function frontEndSurvives(text: string): void {
  const start = performance.now();
  const { plan, diagnostics } = compileSource(text, "fuzz.lt", { catalog });
  const elapsed = performance.now() - start;
  assert.ok(elapsed < MAX_MS_PER_INPUT, `took ${elapsed.toFixed(0)} ms`);
  assert.ok(plan !== null || hasErrors(diagnostics), "no plan and no error");
  if (plan) assert.not.ok(hasErrors(diagnostics));
  for (const d of diagnostics) {
    const r = d.range;
    assert.ok(
      r.line >= 1 && r.col >= 1 && r.offset >= 0,
      `bad start ${JSON.stringify(r)} for ${d.message}`,
    );
    assert.ok(
      r.endOffset >= r.offset && r.offset <= text.length + 1,
      `bad range ${JSON.stringify(r)}`,
    );
    assert.type(renderDiagnostic(d, text), "string");
  }
}

const vocabulary = [
  "track",
  "set",
  "where",
  "timeout",
  "keep",
  "first",
  "last",
  "capacity",
  "then",
  "args",
  ".",
  "->",
  "-",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "&&",
  "||",
  "!",
  "=",
  "|",
  "(",
  ")",
  "{",
  "}",
  ",",
  ":",
  "sched_wakeup",
  "sched_switch",
  "sched:sched_switch",
  "irq_handler_entry",
  "skbaddr",
  "pid",
  "$pid",
  "next_pid",
  "prev_state",
  "comm",
  "prio",
  "ret",
  "fd",
  "w",
  "x",
  "snapshot.events",
  "ringbuf.size",
  "print",
  "snapshot",
  "stack",
  "exec",
  '"echo hi"',
  '"',
  '"a',
  "0",
  "1",
  "0x10",
  "-5",
  "200us",
  "5x",
  "8MiB",
  "99999999999999999999999",
  "\n",
  "#c\n",
  "@",
  "é",
  "\t",
  // names that exist on Object.prototype must not be found in lookup tables
  "constructor",
  "toString",
  "__proto__",
  "5constructor",
  "$constructor",
  "args.toString",
];

const tokenSoup = fc
  .array(fc.constantFrom(...vocabulary), { maxLength: 40 })
  .map((tokens) => tokens.join(" "));

/** A mutation of an example: deletions, insertions of vocabulary or characters, slice copies. */
const mutatedExample = fc
  .tuple(
    fc.constantFrom(...examples),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat({ max: 12 }),
        fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 3 })),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [at, length, insert]) => {
      const i = at % (t.length + 1);
      return t.slice(0, i) + insert + t.slice(i + length);
    }, text),
  );

const arbitraryText = fc.string({ unit: "binary", maxLength: 200 });

const runs = { soup: 4000, mutated: 4000, arbitrary: 2000 };

test(`${runs.soup} token soups`, () => {
  fc.assert(fc.property(tokenSoup, frontEndSurvives), { numRuns: runs.soup });
});

test(`${runs.mutated} mutated examples`, () => {
  fc.assert(fc.property(mutatedExample, frontEndSurvives), { numRuns: runs.mutated });
});

test(`${runs.arbitrary} arbitrary strings`, () => {
  fc.assert(fc.property(arbitraryText, frontEndSurvives), { numRuns: runs.arbitrary });
});

test("the examples themselves compile (the mutations start from valid programs)", () => {
  for (const text of examples) assert.ok(compileSource(text, "x.lt", { catalog }).plan);
});

test.run();
