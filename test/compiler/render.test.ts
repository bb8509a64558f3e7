// How diagnostics look to the user: location, source line, caret under the range, notes.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileFile, compileSource } from "../../src/compiler/compile.ts";
import { renderDiagnostic, renderDiagnostics } from "../../src/compiler/render.ts";
import { catalog } from "./catalog-fixture.ts";

test("file:line:col, the source line, a caret spanning the range, notes", () => {
  const source = "# wakeups\ntrack sched_wakup(args.pid) -> sched_switch(next_pid)\n";
  const [d] = compileSource(source, "bad.lt", { catalog }).diagnostics;
  assert.is(
    renderDiagnostic(d, source),
    [
      "bad.lt:2:7: error: unknown tracepoint 'sched_wakup'",
      " 2 | track sched_wakup(args.pid) -> sched_switch(next_pid)",
      "   |       ^~~~~~~~~~~",
      "note: did you mean sched_wakeup or sched_waking?",
      `note: catalog: ${catalog.source}; list tracepoints with: ltsh events 'PATTERN*'`,
      "",
    ].join("\n"),
  );
});

test("a one-character range is a lone caret; a wide line number widens the gutter", () => {
  const source = `${"\n".repeat(11)}track sched_wakeup(args.pid) -> sched_switch(next_pid) capacity 0`;
  const [d] = compileSource(source, "t.lt", { catalog }).diagnostics;
  const lines = renderDiagnostic(d, source).split("\n");
  assert.is(lines[1], " 12 | track sched_wakeup(args.pid) -> sched_switch(next_pid) capacity 0");
  const zeroAt = lines[1].length - " 12 | ".length - 1;
  assert.is(lines[2], `    | ${" ".repeat(zeroAt)}^`);
});

test("several diagnostics come out in source order", () => {
  const source = "track a(x) -> b(x)\ntrack sched_wakeup(args.pid) -> sched_switch(nxt)";
  const { diagnostics } = compileSource(source, "t.lt", { catalog });
  const text = renderDiagnostics([...diagnostics].reverse(), source);
  assert.ok(text.indexOf("t.lt:1:7") < text.indexOf("t.lt:1:15"));
  assert.ok(text.indexOf("t.lt:1:15") < text.indexOf("t.lt:2:46"));
});

test("a file that cannot be read is one line, with no empty excerpt", () => {
  const { diagnostics, text } = compileFile("/nonexistent/x.lt", { catalog });
  assert.is(
    renderDiagnostics(diagnostics, text),
    "/nonexistent/x.lt:1:1: error: cannot read /nonexistent/x.lt: no such file\n",
  );
});

test.run();
