// ltsh-lami, ltsh as a Trace Compass external analysis (LAMI 1.0): every phase's output is
// checked against the schema written from the spec (./schema.ts); the metadata has the shape
// of lttng-analyses' own (lttng-irqstats-mi, Debian's python3-lttnganalyses, run here); the
// hits agree with `ltsh run --replay`; --begin/--end restrict the analysis.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lamiMain } from "../../src/lami/main.ts";
import { CTF_OFFSET_NS, writeCtfTrace } from "./ctf.ts";
import {
  parseLami,
  validateError,
  validateMetadata,
  validateProgress,
  validateResults,
} from "./schema.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TRACE = join(ROOT, "test/fixtures/traces/wakeup.txt");
const WAKEUP = join(ROOT, "examples/wakeup.lt");
const dir = mkdtempSync(join(tmpdir(), "ltsh-lami-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;

async function lami(...argv: string[]): Promise<{ status: number; out: string }> {
  let out = "";
  const status = await lamiMain(argv, (text) => {
    out += text;
  });
  return { status, out };
}

/** The output's last line as JSON (progress lines come before it). */
const lastJson = (out: string) => parseLami(out.trimEnd().split("\n").at(-1) as string) as Json;

const metadata = lastJson((await lami(WAKEUP, "--metadata")).out);

test("--mi-version: the executable prints 1.0, as Trace Compass reads it (\\d{1,3}.\\d{1,3})", () => {
  const run = spawnSync(process.execPath, [join(ROOT, "bin/ltsh-lami.js"), "--mi-version"], {
    encoding: "utf8",
  });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stdout, "1.0\n");
});

test("--metadata validates against the spec and names the program", () => {
  assert.equal(validateMetadata(metadata), []);
  assert.is(metadata.title, "ltsh: wakeup.lt");
  const classes = metadata["table-classes"] as Record<string, Json>;
  assert.equal(Object.keys(classes), ["hits", "stats", "histogram"]);
});

/** Keys and value types, objects by key; arrays and table-class maps by the union of items. */
function shape(value: unknown, mapKey?: string): unknown {
  if (Array.isArray(value)) return ["array", unionShape(value.map((v) => shape(v)))];
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Json);
    if (mapKey !== undefined) return ["map", unionShape(entries.map(([, v]) => shape(v)))];
    return Object.fromEntries(
      entries
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v, k === "table-classes" ? k : undefined)]),
    );
  }
  return typeof value;
}

function unionShape(shapes: unknown[]): unknown {
  const objects = shapes.filter((s) => typeof s === "object" && s !== null && !Array.isArray(s));
  if (objects.length === 0) return shapes[0] ?? "empty";
  const merged: Json = {};
  for (const object of objects) Object.assign(merged, object);
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

test("--metadata has the shape of lttng-analyses' (lttng-irqstats-mi --metadata, run here)", () => {
  const run = spawnSync("lttng-irqstats-mi", ["--metadata"], { encoding: "utf8" });
  assert.ok(
    run.status === 0,
    `lttng-irqstats-mi: ${run.error?.message ?? run.stderr} (apt-get install python3-lttnganalyses)`,
  );
  const theirs = JSON.parse(run.stdout);
  assert.equal(validateMetadata(theirs), [], "the validator takes lttng-analyses' metadata");
  assert.equal(shape(metadata), shape(theirs));
});

test("--test-compatibility: a text trace passes silently; other files get an error object", async () => {
  assert.equal(await lami(WAKEUP, "--test-compatibility", TRACE), { status: 0, out: "" });
  const foreign = await lami(WAKEUP, "--test-compatibility", join(ROOT, "package.json"));
  assert.is(foreign.status, 1);
  assert.equal(validateError(lastJson(foreign.out)), []);
  assert.match(lastJson(foreign.out)["error-message"] as string, /not a trace ltsh reads/);
  const missing = await lami(WAKEUP, "--test-compatibility", join(dir, "nothing.txt"));
  assert.is(missing.status, 1);
  assert.match(lastJson(missing.out)["error-message"] as string, /no such file/);
  const notCtf = await lami(WAKEUP, "--test-compatibility", dir);
  assert.match(lastJson(notCtf.out)["error-message"] as string, /not a CTF trace/);
});

const full = await lami(WAKEUP, TRACE);
const results = lastJson(full.out);
const tables = results.results as Json[];
type Cell = Json & { value?: unknown; begin?: Json; end?: Json };
const hitRows = (table: Json) => table.data as Cell[][];

test("results validate; tables: hits, per-tracker statistics, one histogram per tracker", () => {
  assert.is(full.status, 0);
  assert.equal(validateResults(results, metadata), []);
  assert.equal(
    tables.map((t) => t.class),
    ["hits", "stats", { inherit: "histogram", title: "Latency distribution: wakeup" }],
  );
});

test("the hits and statistics are those of `ltsh run --replay`", () => {
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "bin/ltsh.js"), "run", WAKEUP, "--replay", TRACE, "--json"],
    { encoding: "utf8" },
  );
  const records = run.stdout
    .trim()
    .split("\n")
    .map((line) => parseLami(line) as Json);
  const hits = records.filter((r) => r.type === "hit");
  const summary = records.find((r) => r.type === "summary") as Json;
  assert.ok(hits.length > 3);
  assert.equal(
    hitRows(tables[0]).map((row) => [row[1].value, row[3].value, (row[6] as Json).id]),
    hits.map((h) => [h.latency_ns, (h.key as unknown[]).join(","), (h.begin as Json).cpu]),
  );
  const [tracker, count, hitCount, timeouts, dropped, min, p50, p99, max] = hitRows(tables[1])[0];
  assert.equal(
    [tracker, count, hitCount, timeouts, dropped, min, p50, p99, max].map((c) => c.value),
    ["wakeup", summary.pairs, summary.hits, summary.timeouts, summary.dropped].concat([
      summary.min_ns,
      summary.p50_ns,
      summary.p99_ns,
      summary.max_ns,
    ]),
  );
  const first = hitRows(tables[0])[0];
  assert.equal(first[0], {
    class: "time-range",
    begin: { class: "timestamp", value: Number((hits[0].begin as Json).ts_ns) },
    end: { class: "timestamp", value: Number((hits[0].end as Json).ts_ns) },
  });
  assert.equal(first[5], {
    class: "process",
    name: (hits[0].begin as Json).comm,
    pid: (hits[0].begin as Json).pid,
    tid: (hits[0].begin as Json).tid,
  });
});

test("the histogram: duration cells with low and high, counts adding up to the pairs", () => {
  const rows = hitRows(tables[2]);
  const pairs = hitRows(tables[1])[0][1].value as number;
  assert.is(
    rows.reduce((sum, row) => sum + (row[1].value as number), 0),
    pairs,
  );
  for (const [latency] of rows) {
    assert.is(latency.class, "duration");
    assert.is(latency.value, undefined);
    // (le/2, le] in whole nanoseconds; the first bucket holds 0 and 1.
    const low = latency.high === 1 ? 0 : (latency.high as number) / 2 + 1;
    assert.is(latency.low, low, JSON.stringify(latency));
  }
});

test("--begin/--end: only the events of the range are analysed; the tables say the range", async () => {
  const all = hitRows(tables[0]);
  const begin = (all[1][0].begin as Json).value as number;
  const end = (all[3][0].end as Json).value as number;
  const ranged = await lami(WAKEUP, "--begin", String(begin), "--end", String(end), TRACE);
  const json = lastJson(ranged.out);
  assert.equal(validateResults(json, metadata), []);
  const [hits, stats] = json.results as Json[];
  const kept = hitRows(hits).map((row) => row[0]);
  assert.equal(
    kept,
    all
      .slice(1, 4)
      .map((row) => row[0])
      .filter((range) => {
        const from = (range.begin as Json).value as number;
        const to = (range.end as Json).value as number;
        return from >= begin && to <= end;
      }),
  );
  assert.ok(kept.length >= 2 && kept.length < all.length);
  assert.equal(hits["time-range"], {
    class: "time-range",
    begin: { class: "timestamp", value: begin },
    end: { class: "timestamp", value: end },
  });
  assert.ok((hitRows(stats)[0][1].value as number) < (hitRows(tables[1])[0][1].value as number));
});

test("--output-progress: progress lines, then the results", async () => {
  const { status, out } = await lami(WAKEUP, "--output-progress", TRACE);
  assert.is(status, 0);
  const lines = out.trimEnd().split("\n");
  assert.ok(lines.length >= 3);
  assert.equal(validateProgress(lines.slice(0, -1)), []);
  assert.equal(validateResults(lastJson(out), metadata), []);
});

test("--limit caps the rows; a program with an error is an error object with its caret", async () => {
  const limited = lastJson((await lami(WAKEUP, "--limit", "2", TRACE)).out);
  assert.is(hitRows((limited.results as Json[])[0]).length, 2);
  const bad = join(dir, "bad.lt");
  writeFileSync(bad, "track w: sched_wakup(pid) -> sched_switch(next_pid)\n");
  const { status, out } = await lami(bad, TRACE);
  assert.is(status, 1);
  const error = lastJson(out);
  assert.equal(validateError(error), []);
  assert.match(
    error["error-message"] as string,
    /bad\.lt:1:10: error: unknown tracepoint 'sched_wakup'/,
  );
  assert.match(error["error-message"] as string, /\^/);
  const usage = lastJson((await lami("--bogus")).out);
  assert.match(usage["error-message"] as string, /Unknown option '--bogus'.*usage: ltsh-lami/);
});

test("a CTF trace (LTTng's format) through babeltrace: exact epoch timestamps, ranges on them", async () => {
  const ctf = join(dir, "ctf");
  writeCtfTrace(ctf);
  assert.equal(await lami(WAKEUP, "--test-compatibility", ctf), { status: 0, out: "" });
  const before = readdirSync(tmpdir()).filter((name) => name.startsWith("ltsh-lami-")).length;
  const { status, out } = await lami(WAKEUP, ctf);
  assert.is(status, 0, out);
  const json = lastJson(out);
  assert.equal(validateResults(json, metadata), []);
  const [hits, stats] = json.results as Json[];
  assert.equal(
    hitRows(hits).map((row) => [row[0], row[1].value, row[3].value, row[5]]),
    [
      [
        {
          class: "time-range",
          begin: { class: "timestamp", value: CTF_OFFSET_NS + 1_000_000_000n },
          end: { class: "timestamp", value: CTF_OFFSET_NS + 1_000_300_000n },
        },
        300_000,
        "5",
        { class: "unknown" },
      ],
    ],
  );
  assert.is(hitRows(stats)[0][1].value, 2);
  const after = readdirSync(tmpdir()).filter((name) => name.startsWith("ltsh-lami-")).length;
  assert.is(after, before, "the converted text is removed");
  const late = String(CTF_OFFSET_NS + 1_500_000_000n);
  const ranged = lastJson(
    (await lami(WAKEUP, "--begin", late, "--end", String(CTF_OFFSET_NS * 2n), ctf)).out,
  );
  const [lateHits, lateStats] = ranged.results as Json[];
  assert.equal(hitRows(lateHits), []);
  assert.is(hitRows(lateStats)[0][1].value, 1, "only the second pair is in the range");
});

test("the validator refuses what the spec refuses", () => {
  const table = (cells: unknown[]) => ({
    results: [{ "time-range": tables[0]["time-range"], class: "histogram", data: [cells] }],
  });
  const ok = [
    { class: "duration", low: 1, high: 2 },
    { class: "number", value: 1 },
  ];
  assert.equal(validateResults(table(ok), metadata), []);
  assert.ok(validateResults(table([{ class: "duration" }, ok[1]]), metadata).length > 0);
  assert.ok(validateResults(table([{ class: "cpu", id: 1 }, ok[1]]), metadata).length > 0);
  assert.ok(validateResults(table([ok[0]]), metadata).length > 0, "a cell short");
  assert.ok(validateMetadata({ ...metadata, "mi-version": { major: 2, minor: 0 } }).length > 0);
  assert.ok(validateProgress(["0.5 half", "* done"]).length > 0);
  assert.ok(validateError({ "error-code": 1 }).length > 0);
});

test.run();
