// The live `exec` action: argv without a shell, the hit in LTSH_* variables, a per-tracker
// rate with skips counted and reported, and commands killed after exec.timeout.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HitRecord } from "../../src/records/types.ts";
import { ExecRunner } from "../../src/session/exec.ts";

const dir = mkdtempSync(join(tmpdir(), "ltsh-exec-"));

const HIT: HitRecord = {
  type: "hit",
  tracker: "wakeup",
  kind: "threshold",
  latency_ns: 312400,
  key: [1234n],
  begin: {
    probe: "sched:sched_wakeup",
    ts_ns: 1000n,
    cpu: 1,
    tid: 1234,
    pid: 1200,
    comm: "cyclictest",
  },
  end: {
    probe: "sched:sched_switch",
    ts_ns: 313400n,
    cpu: 1,
    tid: 1234,
    pid: 1200,
    comm: "cyclictest",
  },
  snapshot: null,
  stack: null,
};

function runner(over: Partial<ConstructorParameters<typeof ExecRunner>[0]> = {}) {
  const warnings: string[] = [];
  const exec = new ExecRunner({
    ratePerSecond: 10,
    timeoutNs: 5e9,
    warn: (m) => warnings.push(m),
    ...over,
  });
  return { exec, warnings };
}

test("the command gets the hit in environment variables and its argv unexpanded", async () => {
  const out = join(dir, "env.txt");
  const { exec, warnings } = runner();
  const script =
    'printf "%s|%s|%s|%s|%s|%s|%s" "$LTSH_TRACKER" "$LTSH_KIND" "$LTSH_LATENCY_NS" "$LTSH_KEY" "$LTSH_BEGIN_PID" "$LTSH_END_COMM" "$1" > "$2"';
  assert.ok(exec.run(["/bin/sh", "-c", script, "sh", "$HOME; rm -rf x", out], HIT));
  await exec.close();
  assert.is(
    readFileSync(out, "utf8"),
    "wakeup|threshold|312400|1234|1200|cyclictest|$HOME; rm -rf x",
  );
  assert.equal(warnings, []);
});

test("beyond exec.rate per second, hits are skipped, counted and reported once", async () => {
  let clock = 0;
  const { exec, warnings } = runner({ ratePerSecond: 2, now: () => clock });
  const started = [1, 2, 3, 4, 5].map(() => exec.run(["/bin/true"], HIT));
  assert.equal(started, [true, true, false, false, false]);
  assert.ok(exec.run(["/bin/true"], { ...HIT, tracker: "other" }), "each tracker has its own rate");
  clock = 1000;
  assert.ok(exec.run(["/bin/true"], HIT), "a second later the rate allows more");
  await exec.close();
  assert.equal(exec.counts("wakeup"), { started: 3, skipped: 3, failed: 0, timedOut: 0 });
  assert.equal(warnings, [
    "wakeup: exec skipped for 1 hit(s): more than 2 per second (set exec.rate)",
    "wakeup: exec skipped for 2 hit(s): more than 2 per second (set exec.rate)",
  ]);
});

test("a command still running after exec.timeout is killed, with what it started", async () => {
  const { exec, warnings } = runner({ timeoutNs: 150e6 });
  const t0 = Date.now();
  exec.run(["/bin/sh", "-c", "sleep 5 & wait"], HIT);
  await exec.close();
  assert.ok(Date.now() - t0 < 2000);
  assert.is(exec.counts("wakeup").timedOut, 1);
  assert.equal(warnings, ["exec /bin/sh: killed after exec.timeout (150 ms)"]);
});

test("a command ignoring SIGTERM gets SIGKILL after the grace period", async () => {
  const { exec } = runner({ timeoutNs: 100e6, killGraceMs: 100 });
  const t0 = Date.now();
  exec.run(["/bin/sh", "-c", 'trap "" TERM; sleep 5'], HIT);
  await exec.close();
  assert.ok(Date.now() - t0 < 2000);
  assert.is(exec.counts("wakeup").timedOut, 1);
});

test("a missing or failing command is a warning, not a crash", async () => {
  const { exec, warnings } = runner();
  exec.run(["/nonexistent/ltsh-cmd"], HIT);
  exec.run(["/bin/false"], HIT);
  await exec.close();
  assert.is(exec.counts("wakeup").failed, 2);
  assert.equal(warnings.sort(), [
    "exec /bin/false: exit status 1",
    "exec /nonexistent/ltsh-cmd: ENOENT",
  ]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
