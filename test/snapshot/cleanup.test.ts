// No flight-recorder instance outlives its process: removed at normal exit and on SIGTERM,
// and after SIGKILL removed by the next recorder's start (stale instance of a dead pid).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import { FlightRecorder } from "../../src/session/snapshot.ts";
import { ltshInstances, reportSkip, TRACEFS, tracefsSkipReason } from "./support.ts";

const FIXTURE = new URL("./fixtures/hold-recorder.ts", import.meta.url).pathname;

/** Starts the fixture and waits for its "ready <instance>" line. */
async function holder(mode: "hold" | "exit"): Promise<{ child: ChildProcess; instance: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  for await (const chunk of child.stdout as NodeJS.ReadableStream) {
    out += chunk;
    if (out.includes("\n")) break;
  }
  const match = /^ready (\S+)/.exec(out);
  assert.ok(match, `fixture said: ${out}`);
  return { child, instance: match[1] as string };
}

const exists = (instance: string) => existsSync(join(TRACEFS, "instances", instance));

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
}

test("normal exit removes the instance", async () => {
  const { child, instance } = await holder("exit");
  await exited(child);
  assert.equal(child.exitCode, 0);
  assert.equal(exists(instance), false);
});

test("SIGTERM removes the instance", async () => {
  const { child, instance } = await holder("hold");
  assert.equal(exists(instance), true);
  child.kill("SIGTERM");
  await exited(child);
  assert.equal(exists(instance), false);
});

test("after SIGKILL the next start removes the dead process's instance", async () => {
  const { child, instance } = await holder("hold");
  child.kill("SIGKILL");
  await exited(child);
  assert.equal(exists(instance), true, "SIGKILL leaves it behind");
  const recorder = FlightRecorder.start({ options: {}, warn: () => {} });
  try {
    assert.equal(exists(instance), false);
    assert.deepEqual(ltshInstances(child.pid), []);
  } finally {
    await recorder.close();
  }
  assert.deepEqual(ltshInstances(process.pid), []);
});

const skip = tracefsSkipReason();
if (skip !== null) reportSkip("snapshot/cleanup", skip);
else test.run();
