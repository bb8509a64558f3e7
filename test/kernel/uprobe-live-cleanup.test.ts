// `ltsh run` on user-space probes leaves nothing behind: after SIGINT or SIGTERM (the run
// ends normally, with its summary) or SIGKILL,
// the workload's own ENABLED() check says the USDT semaphore is down again, no program of
// the tracker is loaded, and uprobe_events has no entry of the ltsh process (the live
// backend attaches through the uprobe PMU, which needs none).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";
import { loaded, serve, until, uprobeEvents } from "./uprobe-support.ts";

const LTSH = new URL("../../ltsh", import.meta.url).pathname;

for (const [signal, code] of [
  ["SIGINT", 0],
  ["SIGTERM", 0],
  ["SIGKILL", "SIGKILL"],
] as const) {
  test(`ltsh run after ${signal}: semaphore down, programs unloaded, no uprobe_events`, async () => {
    const { pie } = buildWorkload();
    const tracker = `u${signal.slice(3, 6).toLowerCase()}`;
    const dir = mkdtempSync(join(tmpdir(), "ltsh-ucl-"));
    const file = join(dir, "guarded.lt");
    writeFileSync(file, `track ${tracker}: usdt:${pie}:guarded(arg0) -> usdt:${pie}:tick(arg0)\n`);
    const workload = serve(pie);
    try {
      await workload.ready;
      assert.is(await workload.enabled(), false, "down before");
      const ltsh = spawn(LTSH, ["run", file, "--no-cache"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      ltsh.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const status = new Promise((resolve) => ltsh.on("exit", (c, s) => resolve(c ?? s)));
      assert.ok(await until(() => workload.enabled()), `raised while ltsh runs: ${stderr}`);
      assert.ok(loaded().includes(`ltsh_${tracker}_b0u0`));
      ltsh.kill(signal);
      assert.is(await status, code, stderr);
      assert.ok(await until(async () => !(await workload.enabled())), "semaphore lowered");
      assert.ok(await until(() => !loaded().includes(`ltsh_${tracker}_`)), "programs unloaded");
      assert.not.ok(uprobeEvents().includes(`ltsh_${ltsh.pid}`), "no uprobe_events entry");
    } finally {
      workload.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-live-cleanup", skip);
else test.run();
