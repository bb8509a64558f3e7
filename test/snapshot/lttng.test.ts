// `set snapshot.lttng = SESSION`: a hit also runs `lttng snapshot record` (argv, no shell);
// a missing lttng is one warning. Checked with a fake client, and with the real one if present.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import type { HitRecord } from "../../src/records/types.ts";
import { FlightRecorder } from "../../src/session/snapshot.ts";
import { reportSkip, tracefsSkipReason } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "ltsh-lttng-"));

/** A hit that ended just now, so the capture does not wait for its margin. */
function hitNow(tracker: string): HitRecord {
  const now = process.hrtime.bigint();
  const ctx = (ts: bigint) => ({
    probe: "sched:sched_switch",
    ts_ns: ts,
    cpu: 0,
    tid: 1,
    pid: 1,
    comm: "x",
  });
  return {
    type: "hit",
    tracker,
    kind: "threshold",
    latency_ns: 1000,
    key: [1n],
    begin: ctx(now - 1000n),
    end: ctx(now),
    snapshot: null,
    stack: null,
  };
}

function recorder(session: string, lttngBinary: string, warnings: string[]): FlightRecorder {
  return FlightRecorder.start({
    options: { "snapshot.dir": dir, "snapshot.margin": 0, "snapshot.lttng": session },
    warn: (m) => warnings.push(m),
    lttngBinary,
  });
}

function lttngOnPath(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v lttng"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("a hit runs `lttng snapshot record -s SESSION -n <tracker>-<ts>` without a shell", async () => {
  const log = join(dir, "argv.log");
  const fake = join(dir, "lttng");
  // Each argument on its own line: a shell would have split "my session" in two.
  writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`);
  chmodSync(fake, 0o755);
  const warnings: string[] = [];
  const r = recorder("my session", fake, warnings);
  try {
    const hit = hitNow("wake");
    assert.ok(await r.capture(hit));
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      "snapshot",
      "record",
      "-s",
      "my session",
      "-n",
      `wake-${hit.begin.ts_ns}`,
    ]);
    assert.deepEqual(warnings, []);
  } finally {
    await r.close();
  }
});

test("a missing lttng command is one warning, and the ftrace snapshot is still written", async () => {
  const warnings: string[] = [];
  const r = recorder("s", join(dir, "no-such-lttng"), warnings);
  try {
    assert.ok(await r.capture(hitNow("a")));
    assert.ok(await r.capture(hitNow("b")));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /lttng command was not found; install lttng-tools/);
  } finally {
    await r.close();
  }
});

test("with LTTng installed, a snapshot-mode session gets a snapshot named after the hit", async () => {
  const lttng = lttngOnPath();
  if (lttng === null) {
    console.log("  (lttng not installed: real LTTng snapshot not checked)");
    return;
  }
  const session = `ltsh-test-${process.pid}`;
  const out = join(dir, "lttng-out");
  const run = (...args: string[]) => execFileSync(lttng, args, { stdio: "pipe" });
  run("create", session, "--snapshot", "-o", out);
  const warnings: string[] = [];
  const r = recorder(session, lttng, warnings);
  try {
    run("enable-event", "-u", "-a", "-s", session);
    run("start", session);
    const hit = hitNow("wake");
    assert.ok(await r.capture(hit));
    assert.deepEqual(warnings, []);
    const names = readdirSync(out);
    assert.ok(
      names.some((n) => n.startsWith(`wake-${hit.begin.ts_ns}-`)),
      `lttng snapshot in ${out}: ${names.join(", ")}`,
    );
  } finally {
    await r.close();
    run("destroy", session);
  }
});

const skip = tracefsSkipReason();
if (skip !== null) reportSkip("snapshot/lttng", skip);
else test.run();
