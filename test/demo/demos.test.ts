// `ltsh demo NAME` driven in tmux as a person would: start it, wait for the workload, press
// f, see hits on the demo's chain tracker with the time in the expected link (its waterfall),
// press s to open the worst hit's snapshot and see the intruder on it, q back, press f again,
// see the hits stop, :quit; then nothing of it is left (workload processes, the ltsh process
// with its BPF programs, tracefs instances). The jack demo's hits are compared with jack's
// own xrun count. The demos run with `--cpu 0`: ftrace on this VM never records a switch
// away from the idle task on CPU 1 (BPF sees it), so a snapshot of a workload on CPU 1 can
// lack the intruder that ran there.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { onPath } from "../../src/demo/requirements.ts";
import { checkLivePermissions } from "../../src/kernel/permissions.ts";
import { TmuxPane, tmuxSkipReason } from "../repl/tmux.ts";
import { running, runningNamed } from "./alive.ts";
import { closeSnapshot, openWorstSnapshot, slowestLink } from "./drive.ts";
import { SOURCES } from "./sources.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SIZE = { columns: 150, rows: 34 };
/** The demos' working directory: memcached-log's snapshots land in its snapshots/. */
const WORKDIR = mkdtempSync(join(tmpdir(), "ltsh-demo-test-"));

interface Case {
  demo: string;
  tracker: string;
  /** The chain link the fault lengthens: the longest bar of the tracker's waterfall. */
  link: string;
  /** The tracker whose snapshot s opens, and what its frame must show (the intruder). */
  shows: { tracker: string; frame: RegExp; inSnapshot: RegExp };
  /** Hits the fault must add, at least, within FAULT_WAIT_MS. */
  hitsWithFault: number;
  /** Hits allowed in QUIET_MS once the fault is removed (what a shared CI machine adds). */
  hitsWithout: number;
  packages: string[];
}

const CASES: Case[] = [
  {
    demo: "jack",
    tracker: "jack",
    link: "run jackd",
    shows: {
      tracker: "jack",
      frame: /\ncpu\d+ .*rt-intruder-\d+/,
      inSnapshot: /sched_switch: .*next_comm=rt-intruder/,
    },
    hitsWithFault: 6,
    // the fault gives ~7 in QUIET_MS (a 20 ms burst every 400 ms); a stalled vCPU of this
    // shared VM can make jackd 8-12 ms late once or twice too (seen in CI: woken from idle)
    hitsWithout: 2,
    packages: ["jackd"],
  },
  {
    demo: "memcached-irq",
    tracker: "request",
    link: "run mc-worker",
    shows: {
      tracker: "request",
      frame: /\n {6}.*irq local_timerH/,
      inSnapshot: /local_timer_entry: /,
    },
    hitsWithFault: 4,
    hitsWithout: 2,
    packages: ["memcached"],
  },
  {
    demo: "memcached-log",
    tracker: "request",
    link: "target mc-worker",
    shows: {
      tracker: "logwrite",
      frame: /logwrite threshold hit [^\n]*\(mc-worker-\d+\)[\s\S]*R mc-worker-\d+ switched in/,
      inSnapshot: /next_comm=mc-worker/,
    },
    hitsWithFault: 6,
    hitsWithout: 1,
    packages: ["memcached"],
  },
];
const FAULT_WAIT_MS = 15_000;
const QUIET_MS = 3000;
/** The jack demo's hits match jack's xruns within the larger of these (stated in the docs). */
const XRUN_TOLERANCE = { absolute: 2, relative: 0.2 };

const permitted = checkLivePermissions();
const skip = tmuxSkipReason() ?? (permitted.ok ? null : permitted.message);

function row(screen: string, tracker: string): { pairs: number; hits: number } | null {
  const match = new RegExp(`^[▸ ] ${tracker} +\\S+ +\\S+ +(\\d+) +(\\d+) `, "m").exec(screen);
  return match ? { pairs: Number(match[1]), hits: Number(match[2]) } : null;
}

function hits(pane: TmuxPane, tracker: string): number {
  return row(pane.text(), tracker)?.hits ?? Number.NaN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ltshPid(pane: TmuxPane): number {
  const shell = execFileSync("tmux", ["display", "-p", "-t", pane.name, "#{pane_pid}"], {
    encoding: "utf8",
  }).trim();
  return Number(execFileSync("pgrep", ["-P", shell], { encoding: "utf8" }).trim().split("\n")[0]);
}

/** What the demo's processes and the ltsh process `pid` could have left behind. */
function leftovers(pid: number): string[] {
  const left: string[] = [];
  for (const name of ["jackd", "memcached", "jack_simple_cli"]) {
    if (runningNamed(name).length > 0) left.push(`process ${name}`);
  }
  if (spawnSync("pgrep", ["-f", "src/demo/workloads/"]).status === 0) left.push("a workload");
  if (existsSync(`/proc/${pid}`)) left.push(`ltsh ${pid} (and its BPF programs)`);
  const instances = readdirSync("/sys/kernel/tracing/instances").filter((n) =>
    n.startsWith(`ltsh-${pid}-`),
  );
  left.push(...instances.map((n) => `tracefs instance ${n}`));
  if (existsSync(`/tmp/ltsh-demo/${pid}`)) left.push("its state directory");
  if (onPath("bpftool")) {
    const progs = JSON.parse(execFileSync("bpftool", ["prog", "show", "-j"], { encoding: "utf8" }));
    for (const prog of progs as { name?: string; pids?: { pid: number }[] }[]) {
      if (prog.pids?.some((p) => p.pid === pid)) left.push(`BPF program ${prog.name}`);
    }
  }
  return left;
}

if (skip) {
  console.log(`  skip demos: ${skip}`);
} else {
  for (const c of CASES) {
    const installed = c.packages.every((p) => onPath(p));
    if (!installed) {
      console.log(`  skip demo ${c.demo}: ${c.packages.join(", ")} not installed`);
      continue;
    }
    test(`ltsh demo ${c.demo} in tmux: f brings hits on ${c.tracker}, f again stops them; :quit leaves nothing`, async () => {
      const pane = new TmuxPane(
        `cd ${WORKDIR} && ${process.execPath} ${ROOT}bin/ltsh.js demo ${c.demo} --cpu 0`,
        SOURCES,
        SIZE,
      );
      let pid = 0;
      try {
        const started = await pane.waitFor(
          (s) =>
            notExited(s) &&
            s.includes("fault off") &&
            row(s, c.tracker) !== null &&
            s.includes("ltsh>"),
          "the demo's shell",
          30_000,
        );
        assert.match(started, new RegExp(`demo ${c.demo}: `));
        assert.match(started, /trackers: examples\/demos\/\S+\.chain\.lt \(the chain\)/);
        assert.match(
          started,
          new RegExp(`s = the worst hit's snapshot \\(:show ${c.shows.tracker} worst\\)`),
        );
        pid = ltshPid(pane);
        const before = hits(pane, c.tracker);
        pane.type("f");
        await pane.waitFor((s) => s.includes("fault ON"), "the fault's state");
        await pane.waitFor(
          () => hits(pane, c.tracker) >= before + c.hitsWithFault,
          `${c.hitsWithFault} hits on ${c.tracker}`,
          FAULT_WAIT_MS,
        );
        assert.is(await slowestLink(pane, c.tracker), c.link);
        await showWorst(pane, c);
        pane.type("f");
        await pane.waitFor((s) => s.includes("fault off"), "the fault removed");
        await sleep(1000); // what was delayed when the fault went is still arriving
        const quietFrom = hits(pane, c.tracker);
        await sleep(QUIET_MS);
        const quiet = hits(pane, c.tracker) - quietFrom;
        assert.ok(
          quiet <= c.hitsWithout,
          `${quiet} hits after the fault was removed:\n${pane.text(true).split("\n").slice(-60).join("\n")}`,
        );
        if (c.demo === "jack") compareXruns(pane.text());
        pane.type(":quit", true);
        await pane.waitFor((s) => s.includes("LTSH-EXIT=0"), "the demo's exit", 15_000);
        assert.equal(leftovers(pid), []);
      } finally {
        pane.kill();
      }
    });
  }
}

if (!skip && onPath("memcached")) {
  test("after kill -9 the next demo kills what the first left; SIGTERM ends a demo and its workload", async () => {
    const command = `cd ${WORKDIR} && ${process.execPath} ${ROOT}bin/ltsh.js demo memcached-log`;
    const opened = (s: string) => notExited(s) && s.includes("fault off") && s.includes("ltsh>");
    const crashed = new TmuxPane(command, SOURCES, SIZE);
    let orphan = "";
    let crashedPid = 0;
    try {
      await crashed.waitFor(opened, "the first demo", 30_000);
      crashedPid = ltshPid(crashed);
      process.kill(crashedPid, "SIGKILL");
      orphan = execFileSync("pgrep", ["-x", "memcached"], { encoding: "utf8" }).trim();
    } finally {
      crashed.kill();
    }
    const next = new TmuxPane(command, SOURCES, SIZE);
    try {
      await next.waitFor(opened, "the second demo", 30_000);
      const screen = next.text(true);
      assert.match(
        screen,
        /ltsh: killed a crashed demo's process: chrt -f 50 taskset -c \d+ memcached /,
      );
      assert.not.ok(running(orphan), `the first memcached (${orphan}) is gone`);
      // its tracefs instance too, though the killed ltsh may not have been waited for yet
      const instances = readdirSync("/sys/kernel/tracing/instances");
      assert.equal(
        instances.filter((n) => n.startsWith(`ltsh-${crashedPid}-`)),
        [],
        "the killed demo's tracefs instances",
      );
      const pid = ltshPid(next);
      process.kill(pid, "SIGTERM");
      await next.waitFor((s) => s.includes("LTSH-EXIT="), "the demo's exit", 15_000);
      assert.equal(leftovers(pid), []);
    } finally {
      next.kill();
    }
  });
}

/**
 * s opens the worst hit's snapshot: its tracker's, a chain's with its links listed; the
 * intruder is in the snapshot's file and on the frame.
 */
async function showWorst(pane: TmuxPane, c: Case): Promise<void> {
  const frame = await openWorstSnapshot(pane);
  const header = new RegExp(`^${c.shows.tracker} threshold hit [^\\n]*?(\\S+\\.txt)`, "m").exec(
    frame,
  );
  assert.ok(header, frame);
  // a chain's hit lists its links under the CPU rows
  if (c.shows.tracker === c.tracker) assert.match(frame, /^0 \S/m, frame);
  const file = join(WORKDIR, "snapshots", header![1]);
  assert.ok(existsSync(file), `${file} exists`);
  assert.match(readFileSync(file, "utf8"), c.shows.inSnapshot, `the intruder in ${file}`);
  assert.match(frame, c.shows.frame, frame);
  await closeSnapshot(pane);
}

/** Fails at once, with the screen, when the demo exits before its shell opens. */
function notExited(screen: string): boolean {
  if (screen.includes("LTSH-EXIT=")) throw new Error(`the demo exited:\n${screen}`);
  return true;
}

function compareXruns(screen: string): void {
  const xruns = Number(/jack's own xruns since start: (\d+)/.exec(screen)?.[1]);
  const hitCount = row(screen, "jack")?.hits ?? Number.NaN;
  const tolerance = Math.max(XRUN_TOLERANCE.absolute, XRUN_TOLERANCE.relative * xruns);
  assert.ok(
    Math.abs(hitCount - xruns) <= tolerance,
    `jack: ${hitCount} hits against ${xruns} xruns (tolerance ${tolerance})`,
  );
}

test.after(() => rmSync(WORKDIR, { recursive: true, force: true }));

test.run();
