// What the grammar accepts and how it splits text into tokens: the forms the README and
// grammar/README.md promise, and syntax errors with their positions.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { ltshLexer } from "../../grammar/tokens.ts";
import { parseSource } from "../../src/compiler/parse.ts";

function tokenNames(text: string): string[] {
  return ltshLexer.tokenize(text).tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

function syntaxErrors(text: string): string[] {
  return parseSource(text, "t.lt").diagnostics.map(
    (d) => `${d.range.line}:${d.range.col} ${d.message}`,
  );
}

test("a tracker name needs a space after its colon; category:name has none", () => {
  assert.equal(tokenNames("track w: sched_wakeup"), [
    "Track:track",
    "Identifier:w",
    "Colon::",
    "Identifier:sched_wakeup",
  ]);
  assert.equal(tokenNames("track sched:sched_wakeup"), [
    "Track:track",
    "QualifiedName:sched:sched_wakeup",
  ]);
});

test("numbers: hex, with units, plain; keywords inside longer names stay names", () => {
  assert.equal(tokenNames("0x1f 200us 8MiB 42 tracker settle"), [
    "HexInteger:0x1f",
    "NumberWithUnit:200us",
    "NumberWithUnit:8MiB",
    "Integer:42",
    "Identifier:tracker",
    "Identifier:settle",
  ]);
});

test("chains: ~> is one token; until and cancel are keywords only as whole words", () => {
  assert.equal(tokenNames("a ~> b -> c until run cancel d untilx cancelled"), [
    "Identifier:a",
    "ChainArrow:~>",
    "Identifier:b",
    "Arrow:->",
    "Identifier:c",
    "Until:until",
    "Identifier:run",
    "Cancel:cancel",
    "Identifier:d",
    "Identifier:untilx",
    "Identifier:cancelled",
  ]);
});

test("chains parse with keyless probes, several links, until and cancel clauses", () => {
  assert.equal(
    syntaxErrors(`track a: hrtimer_expire_entry
      ~> softirq_entry where vec == 3 ~> sched_switch where next_prio < 100
      until block > 100us timeout 1ms
    track sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) where prev_state == 0 > 1ms`),
    [],
  );
  assert.equal(syntaxErrors("track a ~> b until"), [
    "1:19 expected a name, found the end of the input",
  ]);
  assert.equal(syntaxErrors("track a ~>"), [
    "1:11 expected a category:name or a name or a user-space probe or '{', found the end of the input",
  ]);
});

test("user-space probes are one token: paths keep / . - +, a -> after them is a link", () => {
  assert.equal(
    tokenNames(
      "uprobe:/usr/bin/x-y:f+4 uretprobe:libc:nanosleep usdt:./srv.d/a:prov:work__begin->b uprobe:x:0x1f",
    ),
    [
      "UserProbe:uprobe:/usr/bin/x-y:f+4",
      "UserProbe:uretprobe:libc:nanosleep",
      "UserProbe:usdt:./srv.d/a:prov:work__begin",
      "Arrow:->",
      "Identifier:b",
      "UserProbe:uprobe:x:0x1f",
    ],
  );
  // A tracker named uprobe still needs only the space after its colon.
  assert.equal(tokenNames("track uprobe: a"), [
    "Track:track",
    "Identifier:uprobe",
    "Colon::",
    "Identifier:a",
  ]);
});

test("str(EXPR) parses as a call in keys and filters; a probe's key list is not a call", () => {
  assert.equal(
    syntaxErrors(
      'track uprobe:./w:lt_greet(str(arg0)) where str(arg0) == "x" -> uretprobe:./w:lt_greet(str(arg0))',
    ),
    [],
  );
  assert.equal(syntaxErrors("track a(str(x) -> b(x)"), ["1:16 expected ')', found '->'"]);
});

test("comments and newlines are free", () => {
  assert.equal(tokenNames("# c\ntrack # x\n a"), ["Track:track", "Identifier:a"]);
});

for (const source of [
  "track sched_wakeup(pid) -> sched_switch(next_pid) > 200us then snapshot",
  "track w:\n  sched_wakeup(args.pid) where prio < 100\n  -> sched_switch(next_pid)\n  > 200us\n  timeout 50ms\n  keep last\n  capacity 64\n  then snapshot, stack",
  'track a(x) -> { b(x) | c(y, $pid) where !(z == "q" || w != 0x10) && v >= -1 }',
  "track a(x) -> b(x) where y != 0 > 1ms",
  'set snapshot.events = sched_switch, irq:irq_handler_entry\nset snapshot.dir = "/tmp/s"',
  'track a(x) -> b(x) then exec "echo \\"hi\\""',
]) {
  test(`parses: ${source.split("\n")[0]}`, () => {
    assert.equal(syntaxErrors(source), []);
  });
}

test("`> 200us` after a filter is the threshold, not a comparison", () => {
  const { statements } = parseSource("track a(x) -> b(x) where y != 0 > 200us", "t.lt");
  const clauses = statements[0].children.trackStatement![0].children.clause!;
  assert.ok(clauses[0].children.thresholdClause);
});

test("a stray word before a statement gets a did-you-mean for the keyword", () => {
  const [d] = parseSource("trak a(x) -> b(x)", "t.lt").diagnostics;
  assert.is(d.message, "expected 'track' or 'set', found 'trak'");
  assert.equal(d.notes, ["did you mean 'track'?"]);
});

test("errors in several statements are all reported", () => {
  const errors = syntaxErrors("track a(x) -> \ntrack b(x) -> c(x) timout 5ms\ntrack d(x) => e(x)");
  assert.is(errors.length, 3, errors.join("\n"));
  assert.match(errors[0], /^1:/);
  assert.match(errors[1], /^2:20 unexpected 'timout' after a complete statement/);
  assert.match(errors[2], /^3:/);
});

test("an error at the end of the input points just after the last token", () => {
  const [d] = parseSource("track a(x) ->", "t.lt").diagnostics;
  assert.is(d.range.line, 1);
  assert.is(d.range.col, 14);
  assert.ok(!Number.isNaN(d.range.offset));
});

test.run();
