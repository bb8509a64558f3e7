// The demo's background processes: each started in its own process group (setsid), ended
// with everything it started when ltsh exits (normal exit, Ctrl-C, SIGTERM, a crash), and
// found and killed at the next start when ltsh itself was killed (kill -9): every group is
// written to a state file named after ltsh's pid, as tracefs instances carry it in their name.
// The JACK server's /dev/shm files go with it.

import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "../kernel/cleanup.ts";

/** Where running demos list their process groups: `<dir>/<ltsh pid>/groups.json`. */
export const DEMO_STATE_DIR = join(tmpdir(), "ltsh-demo");

interface GroupRecord {
  pgid: number;
  /** The leader's start time (field 22 of /proc/PID/stat): a reused pid is not ours. */
  start: string;
  command: string;
}

/** Fields of /proc/PID/stat after the command name (state is [0], pgrp [2], start [19]). */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // exited
  }
}

function startTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** PF_EXITING in /proc/PID/stat's flags: the process is past its last instruction. */
const PF_EXITING = 0x4;

/**
 * Whether `pid` runs. Zombies do not count: an init that reaps slowly (containers) keeps
 * a killed ltsh, or a killed workload's child, as a zombie for a while. Nor does a process
 * still exiting: a killed ltsh takes a while (seconds on a loaded machine) to close its BPF
 * programs and tracefs instance, and the next demo must not wait for it.
 */
function runs(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== null && fields[0] !== "Z" && (Number(fields[6]) & PF_EXITING) === 0;
}

function killGroup(pgid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** jackd under load can take a second or two to leave. */
const GRACE_MS = 3000;

/**
 * SIGTERM first (jackd removes its shared memory in /dev/shm on it), SIGKILL for what is
 * left after GRACE_MS. Synchronous: it also runs from the process's exit handler.
 */
function endGroups(pgids: number[]): void {
  for (const pgid of pgids) killGroup(pgid, "SIGTERM");
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + GRACE_MS;
  while (pgids.some(groupAlive) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
  for (const pgid of pgids) killGroup(pgid);
}

function startedJack(groups: GroupRecord[]): boolean {
  return groups.some((g) => / jackd /.test(g.command));
}

/** Shared memory of the demo's JACK server (`ltsh-demo`, src/demo/jack.ts) once it is dead. */
function removeShm(): void {
  let names: string[];
  try {
    names = readdirSync("/dev/shm");
  } catch {
    return;
  }
  for (const name of names) {
    if (name.includes("_ltsh-demo_")) rmSync(join("/dev/shm", name), { force: true });
  }
}

/** Whether a process of group `pgid` still runs (the leader may have exited before its children). */
export function groupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return false;
  }
  return pids.some((pid) => {
    const fields = statFields(pid);
    return fields !== null && Number(fields[2]) === pgid && fields[0] !== "Z";
  });
}

/** Kills the groups of demos whose ltsh is gone; returns the commands killed. */
export function killStaleDemos(dir = DEMO_STATE_DIR): string[] {
  const killed: string[] = [];
  let owners: string[];
  try {
    owners = readdirSync(dir);
  } catch {
    return killed;
  }
  for (const owner of owners) {
    const pid = Number(owner);
    if (!Number.isInteger(pid) || runs(pid)) continue;
    const groups = readGroups(join(dir, owner));
    for (const group of groups) {
      const leaderStart = startTime(group.pgid);
      // The leader may have exited while its group lives on; a living leader must be ours.
      if (leaderStart !== null && leaderStart !== group.start) continue;
      if (!groupAlive(group.pgid)) continue;
      killGroup(group.pgid);
      killed.push(group.command);
    }
    rmSync(join(dir, owner), { recursive: true, force: true });
    if (startedJack(groups)) removeShm();
  }
  return killed;
}

function readGroups(ownerDir: string): GroupRecord[] {
  try {
    return JSON.parse(readFileSync(join(ownerDir, "groups.json"), "utf8")) as GroupRecord[];
  } catch {
    return [];
  }
}

/** The process groups of one demo run, and a private directory for its files (FIFOs). */
export class DemoProcesses {
  readonly dir = join(DEMO_STATE_DIR, String(process.pid));
  private readonly groups: GroupRecord[] = [];
  private readonly unregister: () => void;

  constructor() {
    mkdirSync(this.dir, { recursive: true });
    this.save();
    this.unregister = onCleanup(() => this.stopAll());
  }

  /** Starts `argv` in a new process group, recorded before it can start anything else. */
  start(argv: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(argv[0], argv.slice(1), { stdio: "ignore", ...options, detached: true });
    child.on("error", () => {}); // reported by the caller through its exit
    if (child.pid !== undefined) {
      this.groups.push({
        pgid: child.pid,
        start: startTime(child.pid) ?? "",
        command: argv.join(" "),
      });
      this.save();
    }
    return child;
  }

  /** Kills one group (a fault being removed) and forgets it. */
  stop(child: ChildProcess): void {
    const at = this.groups.findIndex((g) => g.pgid === child.pid);
    if (at < 0) return;
    killGroup(this.groups[at].pgid);
    this.groups.splice(at, 1);
    this.save();
  }

  /** Kills every group and removes the state directory; runs at exit on its own. */
  stopAll(): void {
    endGroups(this.groups.map((g) => g.pgid));
    if (startedJack(this.groups)) removeShm();
    this.groups.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }

  private save(): void {
    writeFileSync(join(this.dir, "groups.json"), JSON.stringify(this.groups));
  }
}
