// The replay Session as the CLI and the shell drive it: trackers added together share a pass,
// trackers added later see the whole trace, stop/remove/stats, fatal trace errors through
// done(), and the snapshot and exec actions.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import type { Session } from "../../src/session/types.ts";
import { compileProgram, compileTrackers, ftrace, switchTo, wakeup } from "../replay/support.ts";

const dir = mkdtempSync(join(tmpdir(), "ltsh-session-"));
const trace = join(dir, "trace.txt");
writeFileSync(
  trace,
  `${[
    "# tracer: nop",
    wakeup("1.000000", 1),
    ftrace("1.000050", 1, "x-2", "irq_handler_entry", "irq=5 name=x"),
    switchTo("1.000300", 1),
    wakeup("1.001000", 2),
    ftrace("1.001010", 1, "x-2", "irq_handler_exit", "irq=5 ret=handled"),
    switchTo("1.001100", 2),
  ].join("\n")}\n`,
);

async function open(path = trace, options: Record<string, unknown> = {}) {
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = await openSession("replay", {
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
    options: {
      "snapshot.dir": join(dir, "snaps"),
      "snapshot.margin": 100_000,
      ...options,
    } as never,
    replay: { path },
  });
  return { session, hits, warnings };
}

const WAKEUP = "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us";
const IRQ = "track irq: irq_handler_entry(irq) -> irq_handler_exit(irq)";

test("trackers of a file run in one pass; done() resolves at the end of the trace", async () => {
  const { session, hits } = await open();
  assert.is(session.backend, `replay ${trace}`);
  for (const t of compileTrackers(`${WAKEUP}\n${IRQ}`)) await session.add(t);
  await session.done!();
  assert.equal(
    hits.map((h) => [h.tracker, h.latency_ns]),
    [["wakeup", 300_000]],
  );
  assert.equal(
    session.stats().map((s) => [s.tracker, s.running, s.summary.pairs]),
    [
      ["wakeup", false, 2],
      ["irq", false, 1],
    ],
  );
  const summaries = await session.close();
  assert.equal(
    summaries.map((s) => [s.tracker, s.pairs, s.hits]),
    [
      ["wakeup", 2, 1],
      ["irq", 1, 0],
    ],
  );
});

test("a tracker added later sees the whole trace; stop and remove", async () => {
  const { session } = await open();
  const [wakeupPlan] = compileTrackers(WAKEUP);
  await session.add(wakeupPlan);
  await session.done!();
  const [irqPlan] = compileTrackers(IRQ);
  await session.add(irqPlan);
  await session.done!();
  assert.equal(
    session.stats().map((s) => [s.tracker, s.summary.pairs]),
    [
      ["wakeup", 2],
      ["irq", 1],
    ],
  );
  await session.remove("wakeup");
  assert.equal(
    session.stats().map((s) => s.tracker),
    ["irq"],
  );
  assert.is((await session.close()).length, 2, "one summary per tracker ever added");
});

test("a foreign trace: done() rejects with the line and the expected shapes", async () => {
  const bad = join(dir, "bad.txt");
  writeFileSync(bad, "hello\nworld\n");
  const { session, warnings } = await open(bad);
  for (const t of compileTrackers(WAKEUP)) await session.add(t);
  try {
    await session.done!();
    assert.unreachable("done() should reject");
  } catch (error) {
    assert.match((error as Error).message, /bad\.txt:1: not a trace ltsh can read/);
  }
  assert.equal(warnings, [], "the error is not reported twice");
  await session.close();
});

test("malformed lines are counted and reported once at the end", async () => {
  const messy = join(dir, "messy.txt");
  writeFileSync(
    messy,
    `${readFileSync(trace, "utf8")}junk line\n${wakeup("1.002", 3)}\nmore junk\n`,
  );
  const { session, warnings } = await open(messy);
  for (const t of compileTrackers(WAKEUP)) await session.add(t);
  await session.done!();
  assert.equal(
    warnings.filter((w) => /malformed/.test(w)),
    [
      `${messy}: 2 malformed lines skipped (first at line 8: expected 'comm-pid [cpu] secs.usecs: event: fields'; --strict makes them fatal)`,
    ],
  );
  await session.close();
});

test("--strict: a probe event whose fields do not parse is fatal, with its line", async () => {
  const odd = join(dir, "odd-block.txt");
  writeFileSync(
    odd,
    `${ftrace("1.0", 0, "dd-9", "block_rq_issue", "8,0 WS 4096 () 100 + 8 none,0,0 [dd]")}\n${ftrace("1.1", 0, "dd-9", "block_rq_issue", "garbled")}\n`,
  );
  const [block] = compileTrackers(
    "track b: block_rq_issue(dev, sector) -> block_rq_complete(dev, sector)",
  );
  for (const strict of [false, true]) {
    const warnings: string[] = [];
    const session = await openSession("replay", {
      listener: { hit: () => {}, warning: (w) => warnings.push(w) },
      options: {},
      replay: { path: odd, strict },
    });
    await session.add(block);
    if (strict) {
      try {
        await session.done!();
        assert.unreachable("strict should fail");
      } catch (error) {
        assert.is(
          (error as Error).message,
          `${odd}:2: malformed block_rq_issue event: fields not in the shape it prints`,
        );
      }
    } else {
      await session.done!();
      assert.ok(
        warnings.some((w) =>
          w.includes("1 malformed line skipped (first at line 2: block_rq_issue"),
        ),
      );
    }
    await session.close();
  }
});

test("snapshot: the replayed lines of [begin - margin, end + margin] in a file named in the hit", async () => {
  const { session, hits } = await open();
  for (const t of compileTrackers(`${WAKEUP} then snapshot`)) await session.add(t);
  await session.done!();
  await session.close();
  assert.is(hits.length, 1);
  const path = hits[0].snapshot!;
  assert.is(path, join(dir, "snaps", "wakeup-1000300000.txt"));
  const lines = readFileSync(path, "utf8").trim().split("\n");
  assert.is(lines[0], "# tracer: nop");
  assert.match(lines[1], /^# ltsh snapshot: tracker wakeup, threshold hit, latency 300000 ns/);
  assert.match(lines[2], /^# ltsh hit: \{"type":"hit","tracker":"wakeup"/);
  assert.is(lines[3], "# ltsh task: 1 1 waker");
  assert.equal(
    lines.slice(4).map((l) => l.split(": ")[1]),
    [
      "sched_wakeup",
      "tracing_mark_write",
      "irq_handler_entry",
      "sched_switch",
      "tracing_mark_write",
    ],
    "margin 100us: the wakeup at 1.001000 is outside; the hit's markers at its begin and end",
  );
});

test("exec: argv without a shell, hit in LTSH_* variables", async () => {
  const out = join(dir, "exec-out");
  const program = compileProgram(
    `${WAKEUP} then exec "sh -c 'echo $LTSH_TRACKER $LTSH_KIND $LTSH_LATENCY_NS $LTSH_KEY $LTSH_KEY_COMM $LTSH_BEGIN_PROBE $LTSH_END_TS_NS >> ${out}'"`,
  );
  const { session } = await open();
  for (const t of program.trackers) await session.add(t);
  await session.done!();
  await session.close();
  assert.ok(existsSync(out), `exec wrote ${out}`);
  assert.is(
    readFileSync(out, "utf8"),
    "wakeup threshold 300000 1 task1 sched:sched_wakeup 1000300000\n",
    "LTSH_KEY_COMM: the switch-in's next_comm",
  );
});

test("exec in replay behaves as live: at most exec.rate per second, the rest skipped and said", async () => {
  // 20 hits at replay speed: a burst far above `exec.rate 3`. Before, replay queued them all.
  const many = join(dir, "many.txt");
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    lines.push(wakeup(`2.${String(i * 1000).padStart(6, "0")}`, 100 + i));
    lines.push(switchTo(`2.${String(i * 1000 + 500).padStart(6, "0")}`, 100 + i));
  }
  writeFileSync(many, `${lines.join("\n")}\n`);
  const out = join(dir, "rate-out");
  const program = compileProgram(
    `set exec.rate = 3\n${WAKEUP} then exec "sh -c 'echo $LTSH_KEY >> ${out}'"`,
  );
  const { session, warnings } = await open(many, program.options);
  for (const t of program.trackers) await session.add(t);
  await session.done!();
  await session.close();
  assert.is(readFileSync(out, "utf8").trim().split("\n").length, 3);
  // Reported as live reports them: at most a line a second, the rest when it closes.
  const skipped = warnings.map((w) => /^wakeup: exec skipped for (\d+) hit\(s\)/.exec(w));
  const total = skipped.reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);
  assert.is(total, 17, warnings.join("\n"));
});

test("exec in replay: a command past exec.timeout is killed with the processes it started", async () => {
  const pidFile = join(dir, "grandchild.pid");
  const program = compileProgram(
    `set exec.timeout = 200ms\n${WAKEUP} then exec "sh -c 'sleep 30 & echo $! > ${pidFile}; wait'"`,
  );
  const { session, warnings } = await open(trace, program.options);
  for (const t of program.trackers) await session.add(t);
  const started = performance.now();
  await session.done!();
  await session.close();
  assert.ok(performance.now() - started < 5000, "close() does not wait out the sleep");
  const grandchild = Number(readFileSync(pidFile, "utf8"));
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Gone, or a zombie waiting for a reaper: either way no longer running.
  let state = "gone";
  try {
    state = readFileSync(`/proc/${grandchild}/stat`, "utf8").split(") ")[1][0];
  } catch {}
  assert.ok(
    state === "gone" || state === "Z",
    `sleep (the command's own child) is ${state}: its process group was not killed`,
  );
  assert.ok(
    warnings.some((w) => /killed after exec.timeout/.test(w)),
    warnings.join("\n"),
  );
});

test("stack in replay: a warning, stack stays null", async () => {
  const { session, hits, warnings } = await open();
  for (const t of compileTrackers(`${WAKEUP} then print, stack`)) await session.add(t);
  await session.done!();
  await session.close();
  assert.is(hits[0].stack, null);
  assert.ok(
    warnings.some(
      (w) => w === "wakeup: stack is unavailable in replay (the trace has no kernel stacks)",
    ),
  );
});

test("close() during a paced replay stops it and still returns summaries", async () => {
  const slow = join(dir, "slow.txt");
  writeFileSync(slow, `${wakeup("1.0", 1)}\n${switchTo("1.1", 1)}\n${wakeup("30.0", 2)}\n`);
  const hits: HitRecord[] = [];
  const session: Session = await openSession("replay", {
    listener: { hit: (h) => hits.push(h), warning: () => {} },
    options: {},
    replay: { path: slow, speed: 1 },
  });
  for (const t of compileTrackers(WAKEUP)) await session.add(t);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = performance.now();
  const summaries = await session.close();
  assert.ok(performance.now() - started < 1000, "the 29 s gap is not waited out");
  assert.is(summaries[0].pairs, 1);
});

test("a removed tracker added again under its name starts afresh over the whole trace", async () => {
  const { session, hits } = await open();
  const [wakeup] = compileTrackers(WAKEUP);
  await session.add(wakeup);
  await session.done!();
  await session.stop("wakeup");
  await session.remove("wakeup");
  assert.equal(session.stats(), []);
  await session.add(wakeup);
  await session.done!();
  assert.equal(
    session.stats().map((s) => [s.tracker, s.running, s.summary.pairs, s.summary.hits]),
    [["wakeup", false, 2, 1]],
  );
  assert.is(hits.length, 2);
  await session.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
