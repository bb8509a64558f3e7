// After SIGINT, SIGTERM or SIGKILL of `ltsh run`, none of its BPF programs stays loaded
// (ids read from the child's /proc/PID/fdinfo while it runs, then looked up with bpftool);
// SIGINT and SIGTERM end the run normally, with its summary.

import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

function programs(): { id: number; name?: string }[] {
  return JSON.parse(execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }));
}

/** Ids of the BPF programs a process holds open (its fdinfo says prog_id). */
function programsOf(pid: number): number[] {
  const ids: number[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== "anon_inode:bpf-prog") continue;
        const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
        if (m) ids.push(Number(m[1]));
      } catch {
        // the fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  return ids;
}

const bin = new URL("../../bin/ltsh.js", import.meta.url).pathname;
const example = new URL("../../examples/wakeup.lt", import.meta.url).pathname;

for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
  test(`${signal} to ltsh run: its programs are unloaded`, async () => {
    const child = spawn(process.execPath, [bin, "run", example, "--for", "60s", "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    let ids: number[] = [];
    let code: number | null;
    try {
      // examples/wakeup.lt: its begin on sched_wakeup, its end and cancel on sched_switch
      for (let i = 0; i < 100 && ids.length < 2; i++) {
        await sleep(100);
        ids = programsOf(child.pid!);
      }
      assert.is(ids.length, 2, `ltsh run attached its two programs (stderr: ${stderr})`);
      await sleep(200); // past attaching: the programs are live
    } finally {
      child.kill(signal);
      const late = setTimeout(() => child.kill("SIGKILL"), 10_000);
      code = await exited;
      clearTimeout(late);
    }
    assert.ok(code !== null || signal === "SIGKILL", `ltsh run did not exit on ${signal}`);
    if (signal !== "SIGKILL") {
      assert.is(code, 0, `${signal} ends a run normally`);
      assert.match(stdout, /"type":"summary","tracker":"wakeup"/, "with the summary");
    }
    const left = programs().filter((p) => ids.includes(p.id));
    assert.ok(
      ids.every((id) => !programs().some((p) => p.id === id && p.name?.startsWith("ltsh_wakeup"))),
    );
    assert.equal(left, [], `programs left after ${signal}`);
  });
}

const skip = kernelSkipReason() ?? (hasBpftool() ? null : "bpftool is not installed");
if (skip !== null) reportSkip("kernel/live-cleanup", skip);
else test.run();

function hasBpftool(): boolean {
  try {
    execFileSync("bpftool", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
