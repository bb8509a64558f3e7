// Nothing a user-space probe sets up outlives ltsh: after SIGINT, SIGTERM or SIGKILL of a
// process holding a semaphore-guarded USDT probe, the workload's own ENABLED() check says
// the semaphore is down and the program is unloaded; SIGINT and SIGTERM also delete the
// uprobe_events entries, and after SIGKILL the next start deletes them.

import { type ChildProcess, spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfFile } from "../../src/compiler/uprobe/elf.ts";
import { readUsdtProbes } from "../../src/compiler/uprobe/usdt-notes.ts";
import { removeStaleUprobeEvents } from "../../src/kernel/uprobe-events.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { kernelSkipReason, reportSkip, tracefsRoot } from "./support.ts";
import { loaded, serve, until, uprobeEvents } from "./uprobe-support.ts";

const HOLDER = new URL("../uprobe/hold-uprobe.ts", import.meta.url).pathname;

function guardedProbe(path: string) {
  const opened = ElfFile.open(path);
  if (!opened.ok) throw new Error(opened.message);
  const probes = readUsdtProbes(opened.value);
  opened.value.close();
  if (!probes.ok) throw new Error(probes.message);
  return probes.value.find((p) => p.name === "guarded")!;
}

async function startHolder(name: string, path: string): Promise<ChildProcess> {
  const probe = guardedProbe(path);
  const args = [name, path, String(probe.fileOffset), String(probe.semaphoreOffset)];
  const child = spawn(process.execPath, ["--import", "tsx", HOLDER, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    child.on("exit", (code) => reject(new Error(`holder exited early (${code})`)));
  });
  return child;
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGKILL", "SIGKILL"],
] as const) {
  test(`after ${signal}: semaphore down, program unloaded, uprobe_events clean`, async () => {
    const { pie } = buildWorkload();
    const name = `ltsh_u${signal.slice(3, 7).toLowerCase()}${process.pid % 10000}`;
    const workload = serve(pie);
    await workload.ready;
    try {
      assert.is(await workload.enabled(), false, "down before");
      const holder = await startHolder(name, pie);
      const group = `ltsh_${holder.pid}/hold`;
      assert.is(await workload.enabled(), true, "raised while held");
      assert.ok(loaded().includes(name));
      assert.ok(uprobeEvents().includes(group));
      const status = new Promise((resolve) => holder.on("exit", (c, s) => resolve(c ?? s)));
      holder.kill(signal);
      assert.is(await status, code);
      assert.ok(await until(async () => !(await workload.enabled())), "semaphore lowered");
      assert.ok(await until(() => !loaded().includes(name)), "program unloaded");
      if (signal === "SIGKILL") {
        assert.ok(uprobeEvents().includes(group), "SIGKILL runs no cleanup");
        assert.ok(removeStaleUprobeEvents(tracefsRoot()).includes(group.replace("/", ":")));
      }
      assert.not.ok(uprobeEvents().includes(group), "no entry left");
    } finally {
      workload.close();
    }
  });
}

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-cleanup", skip);
else test.run();
