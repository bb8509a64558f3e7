// `then snapshot` end to end: `ltsh run` traces a workload this test starts; the hit carries
// its snapshot, which holds the pair's begin and end and replays to the same latency; the rate
// limit's skips are reported; no instance is left after Ctrl-C, SIGTERM, or SIGKILL and a
// new start.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import { CLOCK_SLACK_NS } from "../../src/session/snapshot.ts";
import { kernelSkipReason } from "../kernel/support.ts";
import { eventLines, ltshInstances, reportSkip, TRACEFS, tracefsSkipReason } from "./support.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ltsh-live-snap-"));
// A copy of sleep with a comm of its own, so other processes on the machine never match.
const NAPPER = join(dir, "ltshnap");
const snapDir = join(dir, "snaps");
const source = (action: string) =>
  `track nap: sched_process_exec(args.pid) -> sched_process_exit(args.pid) where args.comm == "ltshnap" > 20ms then ${action}\n` +
  `set snapshot.dir = "${snapDir}"\nset snapshot.margin = 2ms\n`;
const liveFile = join(dir, "nap.lt");
const replayFile = join(dir, "nap-replay.lt");

test.before(() => {
  copyFileSync("/bin/sleep", NAPPER);
  writeFileSync(liveFile, source("snapshot"));
  writeFileSync(replayFile, source("print"));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
}

/** Starts `ltsh run` and resolves once its flight recorder's instance exists. */
async function startRun(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ["bin/ltsh.js", "run", ...args], { cwd: ROOT });
  const run: Run = { child, stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => (run.stdout += d));
  child.stderr?.on("data", (d) => (run.stderr += d));
  const instance = join(TRACEFS, "instances", `ltsh-${child.pid}-snapshot`);
  for (let waited = 0; !existsSync(instance); waited += 50) {
    assert.ok(waited < 20_000 && child.exitCode === null, `ltsh run did not start: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The tracker is attached right after the recorder starts.
  await new Promise((r) => setTimeout(r, 300));
  return run;
}

/** Waits for the exit; a run still alive after 15 s is killed and the test fails (no hang). */
async function finish(run: Run): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), 15_000);
  });
  const hung = await Promise.race([once(run.child, "exit").then(() => false), timedOut]);
  clearTimeout(timer);
  if (hung) {
    run.child.kill("SIGKILL");
    await once(run.child, "exit");
    assert.fail(`ltsh run (pid ${run.child.pid}) did not exit within 15 s; stderr: ${run.stderr}`);
  }
}

/** Within the µs the trace prints plus the slack the recorder allows between the two clocks. */
function assertSameInstant(traceNs: bigint, bpfNs: bigint): void {
  const apart = traceNs > bpfNs ? traceNs - bpfNs : bpfNs - traceNs;
  assert.ok(apart < 1000n + CLOCK_SLACK_NS, `trace ${traceNs} vs hit ${bpfNs}: ${apart} ns apart`);
  if (process.env.LTSH_TEST_VERBOSE) console.log(`  trace vs BPF clock: ${apart} ns apart`);
}

test("a hit's snapshot holds its begin and end, replays to it, and skips are reported", async () => {
  const run = await startRun([liveFile, "--json", "--for", "20s"]);
  for (let i = 0; i < 3; i++) execFileSync(NAPPER, ["0.05"]);
  // Once the snapshot is written (margin, then capture), Ctrl-C: summaries and warnings follow.
  for (let waited = 0; !(existsSync(snapDir) && readdirSync(snapDir).length > 0); waited += 50) {
    assert.ok(waited < 10_000, `no snapshot written: ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  run.child.kill("SIGINT");
  await finish(run);
  assert.equal(run.child.exitCode, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const hits = records.filter((r) => r.type === "hit");
  assert.equal(hits.length, 3, run.stdout);
  const snapped = hits.filter((h) => h.snapshot !== null);
  assert.equal(snapped.length, 1, "one snapshot per second: the other two are skipped");
  assert.match(
    run.stderr,
    /nap: 2 snapshots skipped by the rate limit \(snapshot\.rate = 1 per second\)/,
  );
  assert.deepEqual(ltshInstances(run.child.pid), [], "instance removed after Ctrl-C");

  const hit = snapped[0];
  const path = hit.snapshot as string;
  assert.equal(path, join(snapDir, `nap-${hit.begin.ts_ns}.txt`));
  const text = readFileSync(path, "utf8");
  const pid = hit.key[0] as number;
  const [begin] = eventLines(text, "sched_process_exec", pid);
  const [end] = eventLines(text, "sched_process_exit", pid);
  assert.ok(begin && end, `both events of pid ${pid} in ${path}`);
  // Equal to the hit's BPF timestamps at the trace's resolution: it prints µs, and ftrace and
  // the BPF program read the clock a moment apart on the same tracepoint.
  assertSameInstant(begin.ns, BigInt(hit.begin.ts_ns));
  assertSameInstant(end.ns, BigInt(hit.end.ts_ns));

  const replay = execFileSync(
    process.execPath,
    ["bin/ltsh.js", "run", replayFile, "--replay", path, "--json"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  const replayed = replay
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === "hit" && r.key[0] === pid);
  assert.equal(replayed.length, 1, replay);
  // Same latency at the trace's resolution: µs timestamps, each side's clock slack.
  const latencyApart = Math.abs(replayed[0].latency_ns - hit.latency_ns);
  assert.ok(
    latencyApart < 2 * (1000 + Number(CLOCK_SLACK_NS)),
    `replayed ${replayed[0].latency_ns} vs live ${hit.latency_ns}`,
  );
  if (process.env.LTSH_TEST_VERBOSE)
    console.log(`  replayed vs live latency: ${latencyApart} ns apart`);
});

test("SIGKILL leaves the instance to the next run, which removes it; SIGTERM leaves none", async () => {
  const killed = await startRun([liveFile, "--for", "20s"]);
  killed.child.kill("SIGKILL");
  await finish(killed);
  assert.deepEqual(ltshInstances(killed.child.pid), [`ltsh-${killed.child.pid}-snapshot`]);
  const next = await startRun([liveFile, "--for", "20s"]);
  assert.deepEqual(ltshInstances(killed.child.pid), []);
  next.child.kill("SIGTERM");
  await finish(next);
  assert.deepEqual(ltshInstances(next.child.pid), []);
});

const skip = tracefsSkipReason() ?? kernelSkipReason();
if (skip !== null) reportSkip("snapshot/live", skip);
else test.run();
