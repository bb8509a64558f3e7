// The hit written into every snapshot: the header note that `ltsh show` reads back, and the
// atrace marker pair that Perfetto's systrace importer turns into a slice on the keyed task.
// The importer's grammar is encoded here from its source (google/perfetto,
// src/trace_processor/importers/systrace/: systrace_line_tokenizer.cc for the line,
// systrace_parser.h ParseSystraceTracePoint for `B|tgid|name` and `E|tgid`,
// systrace_parser.cc ParseSystracePoint for the thread the slice lands on).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hitToJson } from "../../src/records/output.ts";
import {
  annotatedSnapshot,
  isHitMarkerLine,
  parseHitNote,
} from "../../src/records/snapshot-note.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { replayHits } from "./support.ts";

const FIXTURE = new URL("../repl/fixtures/wakeup-snapshot.txt", import.meta.url).pathname;
const WAKEUP_TRACE = new URL("../fixtures/traces/wakeup.txt", import.meta.url).pathname;
const WAKEUP = "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 500us";

// ------------------------------------------------------------ Perfetto's grammar

/** SystraceLineTokenizer's regex, matched anywhere in the line (PartialMatchWithGroups). */
const PERFETTO_LINE =
  /-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*([a-zA-Z.]{3}[0-9a-f.]{1,2}\s*)?(\d+\.\d+):\s+(\S+):/;

interface PerfettoLine {
  task: string;
  pid: number;
  tgid: string;
  cpu: number;
  ts: number;
  event: string;
  args: string;
}

/** What the tokenizer makes of a line, or null where it reports "not a known format". */
function tokenize(line: string): PerfettoLine | null {
  const m = PERFETTO_LINE.exec(line);
  if (m === null) return null;
  return {
    task: line.slice(0, m.index).trim(),
    pid: +m[1],
    tgid: m[2] ?? "",
    cpu: +m[3],
    ts: Math.trunc(Number(m[5]) * 1e9),
    event: m[6],
    args: line.slice(m.index + m[0].length).trim(),
  };
}

type TracePoint = { phase: string; tgid: number; name: string } | "failure";

/** ParseSystraceTracePoint for the phases ltsh writes: fields split on '|'. */
function tracePoint(args: string): TracePoint {
  const fields = args.split("|");
  const phase = fields[0];
  if (phase === "") return "failure";
  const tgidText = fields[1] ?? "";
  const tgid = /^\d+$/.test(tgidText) ? Number(tgidText) : null;
  if (phase[0] === "B") {
    if (tgid === null) return "failure";
    const name = fields.slice(2).join("|");
    return { phase: "B", tgid, name: name === "" ? "[empty slice name]" : name };
  }
  if (phase[0] === "E") return { phase: "E", tgid: tgid ?? 0, name: "" };
  return "failure";
}

interface Slice {
  tid: number;
  tgid: number;
  name: string;
  begin: number;
  end: number | null;
}

/** Thread-track slices from the print events, as the importer's slice tracker stacks them. */
function perfettoSlices(text: string): {
  slices: Slice[];
  failures: number;
  untokenized: string[];
} {
  const open = new Map<number, Slice[]>();
  const slices: Slice[] = [];
  let failures = 0;
  const untokenized: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const parsed = tokenize(line);
    if (parsed === null) {
      untokenized.push(line);
      continue;
    }
    if (!["tracing_mark_write", "print", "0"].includes(parsed.event)) continue;
    const point = tracePoint(parsed.args);
    if (point === "failure") {
      failures++;
      continue;
    }
    const stack = open.get(parsed.pid) ?? [];
    open.set(parsed.pid, stack);
    if (point.phase === "B") {
      const slice = {
        tid: parsed.pid,
        tgid: point.tgid,
        name: point.name,
        begin: parsed.ts,
        end: null,
      };
      stack.push(slice);
      slices.push(slice);
    } else {
      const slice = stack.pop();
      if (slice) slice.end = parsed.ts;
    }
  }
  return { slices, failures, untokenized };
}

const seconds = (text: string) => Math.trunc(Number(text) * 1e9);

test("perfetto's tokenizer, as encoded: the flags field is 3 of [a-zA-Z.] then 1-2 of [0-9a-f.]", () => {
  const line = (flags: string) =>
    `     tsc-16143   (  16135) [001] ${flags}   704.560146: sched_wakeup: comm=x pid=1`;
  for (const flags of ["dNs6.", "d..2.", ".....", "d.h1", "..s1."])
    assert.is(tokenize(line(flags))?.event, "sched_wakeup", flags);
  assert.is(tokenize(line("d..2.x")), null, "a sixth flag character breaks the line");
  assert.is(tokenize(line("d2..")), null, "a digit among the first three flags");
  const bare = tokenize("  <idle>-0     [000]  0.002188: task_newtask: pid=1");
  assert.equal([bare?.task, bare?.pid, bare?.tgid, bare?.cpu], ["<idle>", 0, "", 0]);
});

test("a live snapshot: every line tokenizes; the hit is one slice on the keyed task, wakeup to switch-in", () => {
  const text = readFileSync(FIXTURE, "utf8");
  const { slices, failures, untokenized } = perfettoSlices(text);
  assert.equal(untokenized, []);
  assert.is(failures, 0);
  assert.equal(slices, [
    {
      tid: 16143,
      tgid: 16135,
      name: "ltsh wakeup 1.11ms key=16143",
      begin: seconds("704.560146"),
      end: seconds("704.561269"),
    },
  ]);
  // The slice's ends are the trace's own wakeup of 16143 and its switch-in.
  assert.match(text, /704\.560146: sched_wakeup: comm=tsc pid=16143 /);
  assert.match(text, /704\.561269: sched_switch: .* next_pid=16143 /);
});

test("the writer reproduces the recorded snapshot from its header, its lines and its hit", () => {
  const lines = readFileSync(FIXTURE, "utf8").trimEnd().split("\n");
  const note = parseHitNote(lines);
  assert.ok(note, "the header names the hit");
  assert.is(note.hit.begin.ts_ns, 704560146800n);
  assert.equal(note.hit.key, [16143n]);
  assert.equal(note.task, { tid: 16143, pid: 16135, comm: "tsc" });
  const header = lines.filter((l) => l.startsWith("#") && !l.startsWith("# ltsh "));
  const events = lines.filter((l) => !l.startsWith("#") && !isHitMarkerLine(l));
  assert.equal(annotatedSnapshot(header, events, note.hit), lines);
});

test("a key that names no task (an IRQ number): the slice goes on the begin event's task", () => {
  const lines = [
    // A task whose tid happens to be the IRQ number: the pair's events do not name it.
    "         cpuhp/3-36      (     36) [001] d..2.   669.046700: sched_switch: prev_comm=cpuhp/3 prev_pid=36 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120",
    "          <idle>-0       (-------) [001] d.h1.   669.046750: irq_handler_entry: irq=36 name=virtio1-req.0",
    "          <idle>-0       (-------) [001] d.h1.   669.046763: irq_handler_exit: irq=36 ret=handled",
  ];
  const hit: HitRecord = {
    type: "hit",
    tracker: "irq",
    kind: "threshold",
    latency_ns: 13000,
    key: [36n],
    begin: {
      probe: "irq:irq_handler_entry",
      ts_ns: 669046750400n,
      cpu: 1,
      tid: 0,
      pid: -1,
      comm: "<idle>",
    },
    end: {
      probe: "irq:irq_handler_exit",
      ts_ns: 669046763100n,
      cpu: 1,
      tid: 0,
      pid: -1,
      comm: "<idle>",
    },
    snapshot: null,
    stack: null,
  };
  const text = annotatedSnapshot(["# tracer: nop"], lines, hit);
  assert.not.ok(text.some((l) => l.startsWith("# ltsh task:")));
  const { slices, untokenized } = perfettoSlices(text.join("\n"));
  assert.equal(untokenized, []);
  assert.equal(
    slices.map((s) => [s.tid, s.tgid, s.begin, s.end]),
    [[0, 0, seconds("669.046750"), seconds("669.046763")]],
  );
});

test("a timeout hit: the slice ends at the deadline", () => {
  const lines = [
    "             tsc-16146   (  16135) [001] d.s4.   704.560146: sched_wakeup: comm=tsc pid=16143 prio=120 target_cpu=001",
    "             tsc-16146   (  16135) [001] d..2.   704.570000: sched_switch: prev_comm=tsc prev_pid=16146 prev_prio=120 prev_state=R ==> next_comm=x next_pid=9 next_prio=120",
  ];
  const hit: HitRecord = {
    type: "hit",
    tracker: "wakeup",
    kind: "timeout",
    latency_ns: 5_000_000,
    key: [16143n],
    begin: {
      probe: "sched:sched_wakeup",
      ts_ns: 704560146800n,
      cpu: 1,
      tid: 16146,
      pid: 16135,
      comm: "tsc",
    },
    end: null,
    snapshot: null,
    stack: null,
  };
  const { slices } = perfettoSlices(annotatedSnapshot([], lines, hit).join("\n"));
  assert.equal(
    slices.map((s) => [s.tid, s.tgid, s.begin, s.end]),
    // The window never shows 16143 running: its tgid is unknown, the tid stands for it.
    [[16143, 16143, seconds("704.560146"), seconds("704.565146")]],
  );
});

const dir = mkdtempSync(join(tmpdir(), "ltsh-markers-"));
const PERF_TRACE = new URL("../fixtures/traces/wakeup.perf.txt", import.meta.url).pathname;
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("replay's snapshots carry the same marker pair: one slice per hit, from its begin to its end", async () => {
  const snapshots = join(dir, "replayed");
  const { hits } = await replayHits(
    `set snapshot.dir = "${snapshots}"\n${WAKEUP} then snapshot`,
    WAKEUP_TRACE,
  );
  assert.ok(hits.length >= 3, `hits: ${hits.length}`);
  for (const hit of hits) {
    const { slices, untokenized } = perfettoSlices(readFileSync(hit.snapshot!, "utf8"));
    assert.equal(untokenized, [], hit.snapshot!);
    const key = Number(hit.key[0]);
    const micro = (ns: bigint) => Number(ns / 1000n) * 1000;
    assert.equal(
      slices.map((s) => [s.tid, s.begin, s.end]),
      [[key, micro(hit.begin.ts_ns), micro(hit.end!.ts_ns)]],
      hit.snapshot!,
    );
  }
});

test("ltsh's replay ignores the markers: the same hits with or without them, none copied on", async () => {
  const marked = FIXTURE;
  const bare = join(dir, "bare.txt");
  const text = readFileSync(marked, "utf8");
  writeFileSync(
    bare,
    text
      .split("\n")
      .filter((l) => !isHitMarkerLine(l))
      .join("\n"),
  );
  assert.is.not(readFileSync(bare, "utf8"), text, "the fixture has markers to remove");
  const again = join(dir, "again");
  const source = `set snapshot.dir = "${again}"\n${WAKEUP} then snapshot`;
  const withMarkers = await replayHits(source, marked);
  const written = readdirSync(again).map((name) => readFileSync(join(again, name), "utf8"));
  rmSync(again, { recursive: true });
  const without = await replayHits(source, bare);
  const json = (hits: HitRecord[]) => hits.map((h) => hitToJson({ ...h, snapshot: null }));
  assert.equal(json(withMarkers.hits), json(without.hits));
  assert.equal(withMarkers.warnings, without.warnings);
  assert.is(withMarkers.hits.length, 1);
  // The snapshot of the replayed snapshot marks its hit once, not twice.
  assert.is(written.length, 1);
  assert.is(perfettoSlices(written[0]).slices.length, 1);
});

test("a snapshot of perf script text has the note but no tracefs markers, and replays cleanly", async () => {
  const snapshots = join(dir, "perf");
  const tracker = WAKEUP.replace("> 500us", "> 200us");
  const source = `set snapshot.dir = "${snapshots}"\n${tracker} then snapshot`;
  const { hits } = await replayHits(source, PERF_TRACE);
  assert.ok(hits.length > 0);
  const text = readFileSync(hits[0].snapshot!, "utf8");
  assert.match(text, /^# ltsh hit: /m);
  assert.not.match(text, /tracing_mark_write/);
  const again = await replayHits(tracker, hits[0].snapshot!);
  assert.equal(
    again.warnings.filter((w) => w.includes("malformed")),
    [],
  );
  assert.ok(again.hits.some((h) => h.begin.ts_ns === hits[0].begin.ts_ns));
});

test.run();
