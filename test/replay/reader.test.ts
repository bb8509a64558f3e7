// Reading traces: gzip, forced formats, and bad input — foreign, binary, empty, truncated
// files and malformed lines — with the line number and what was expected.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { TraceEvent } from "../../src/replay/event.ts";
import { type ReadOptions, readTrace, TraceError } from "../../src/replay/reader.ts";
import { switchTo, wakeup } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "ltsh-reader-"));
let n = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `t${n++}.txt`);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, options: Partial<ReadOptions> = {}) {
  const events: TraceEvent[] = [];
  const result = await readTrace({ path, ...options }, (e) => events.push(e));
  return { events, result };
}

async function readError(path: string, options: Partial<ReadOptions> = {}): Promise<string> {
  try {
    await read(path, options);
  } catch (error) {
    assert.instance(error, TraceError);
    return (error as Error).message;
  }
  throw new Error("expected a TraceError");
}

const good = ["# tracer: nop", "#", wakeup("1.000000", 1), switchTo("1.000010", 1)].join("\n");

test("reads ftrace text and gzip transparently, line numbers kept", async () => {
  const plain = await read(file(`${good}\n`));
  assert.is(plain.result.format, "ftrace");
  assert.equal(
    plain.events.map((e) => [e.lineNo, e.name]),
    [
      [3, "sched_wakeup"],
      [4, "sched_switch"],
    ],
  );
  const gz = await read(file(gzipSync(`${good}\n`)));
  assert.equal(
    gz.events.map((e) => e.line),
    plain.events.map((e) => e.line),
  );
});

test("long traces stream in chunks; CRLF line ends are accepted", async () => {
  const lines: string[] = [];
  for (let i = 0; i < 30_000; i++) lines.push(wakeup(`1.${String(i).padStart(6, "0")}`, i));
  const { events } = await read(file(`${lines.join("\r\n")}\r\n`));
  assert.is(events.length, 30_000);
  assert.is(events[29_999].nsec, 29_999_000);
});

test("a foreign file: the line and the shapes expected", async () => {
  const message = await readError(file("# comment\n<html>\n<body>hello</body>\n"));
  assert.match(message, /t\d+\.txt:2: not a trace ltsh can read; expected lines like/);
  assert.match(message, /ftrace: bash-1234 \[001\]/);
  assert.match(message, /perf: /);
  assert.match(message, /babeltrace: /);
});

test("binary, empty, missing and comment-only inputs", async () => {
  assert.match(
    await readError(file(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1]))),
    /binary data, not a text trace/,
  );
  assert.match(await readError(file("")), /empty trace/);
  assert.match(
    await readError(join(dir, "missing.txt")),
    /missing\.txt: cannot read the trace: no such file/,
  );
  assert.match(await readError(file("# tracer: nop\n#\n")), /no events in the trace/);
  assert.match(
    await readError(file(Buffer.concat([gzipSync(good).subarray(0, 20)]))),
    /corrupt or truncated gzip/,
  );
});

test("malformed lines are counted with the first one; --strict makes them fatal", async () => {
  const path = file(`${good}\nthis is not an event\n${wakeup("1.000020", 2)}\ngarbage\n`);
  const { events, result } = await read(path);
  assert.is(events.length, 3);
  assert.is(result.malformed, 2);
  assert.equal(result.firstMalformed, {
    lineNo: 5,
    reason: "expected 'comm-pid [cpu] secs.usecs: event: fields'",
  });
  assert.match(
    await readError(path, { strict: true }),
    /t\d+\.txt:5: malformed line: expected 'comm-pid/,
  );
});

test("a truncated last line is reported as such", async () => {
  const cut = `${good}\n${wakeup("1.000020", 2).slice(0, 30)}`;
  const { result } = await read(file(cut));
  assert.is(result.malformed, 1);
  assert.match(result.firstMalformed!.reason, /^truncated last line/);
});

test("--format forces a parser: ftrace text read as perf is all malformed → refused", async () => {
  assert.match(await readError(file(`${good}\n`), { format: "perf" }), /not a trace ltsh can read/);
});

test("speed paces by trace time", async () => {
  const path = file(`${wakeup("1.000000", 1)}\n${switchTo("1.100000", 1)}\n`);
  const started = performance.now();
  await read(path, { speed: 2 });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 45, `100 ms of trace at speed 2 took ${elapsed} ms`);
  const fast = performance.now();
  await read(path, { speed: "max" });
  assert.ok(performance.now() - fast < 45);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
