// Nothing stays loaded: programs are fd-owned, so even SIGKILL unloads them; SIGINT and
// SIGTERM also run the registered cleanups (checked with bpftool, as a user would).

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelSkipReason, reportSkip } from "./support.ts";

const FIXTURE = new URL("./fixtures/hold-program.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ltsh-cleanup-"));

function loadedPrograms(): string {
  return spawnSync("bpftool", ["prog", "show"], { encoding: "utf8" }).stdout ?? "";
}

async function startHolder(name: string, ...extra: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", FIXTURE, name, join(dir, name), ...extra],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    child.on("exit", (code) => reject(new Error(`holder exited early (${code})`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal!)));
}

/** Programs are freed after an RCU grace period: give the kernel a moment. */
async function gone(name: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (!loadedPrograms().includes(name)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

for (const [signal, code] of [
  ["SIGKILL", "SIGKILL"],
  ["SIGTERM", 143],
  ["SIGINT", 130],
] as const) {
  test(`after ${signal} of a process holding ltsh_* programs, none stays loaded`, async () => {
    const name = `ltsh_k${signal.slice(3, 7).toLowerCase()}${process.pid % 10000}`;
    const child = await startHolder(name);
    assert.ok(loadedPrograms().includes(name), `bpftool lists ${name} while it runs`);
    const status = exited(child);
    child.kill(signal);
    assert.is(await status, code);
    assert.ok(await gone(name), `${name} is unloaded after ${signal}`);
    // SIGKILL runs nothing in the process; the other signals run the registered cleanups.
    assert.is(existsSync(join(dir, name)), signal !== "SIGKILL");
  });
}

test("an uncaught exception still runs the cleanups, and Node reports it as usual", async () => {
  const name = `ltsh_kthrow${process.pid % 10000}`;
  const child = await startHolder(name, "--throw");
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  assert.is(await exited(child), 1);
  assert.match(stderr, /deliberate crash/);
  assert.ok(existsSync(join(dir, name)), "the cleanup ran");
  assert.ok(await gone(name));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

const skip =
  kernelSkipReason() ??
  (spawnSync("bpftool", ["version"]).error
    ? "bpftool is not installed (apt-get install bpftool)"
    : null);
if (skip !== null) reportSkip("kernel/cleanup", skip);
else test.run();
