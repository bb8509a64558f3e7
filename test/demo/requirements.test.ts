// Without a demo's packages (a PATH that lacks them) `ltsh demo NAME` exits 1 with the
// apt-get line and starts nothing; `ltsh demo` lists the demos; a crashed demo's process
// groups are killed by the next start.

import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { groupAlive, killStaleDemos } from "../../src/demo/processes.ts";
import { DEMOS } from "../../src/demo/registry.ts";
import { runningNamed } from "./alive.ts";
import { SOURCES } from "./sources.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function ltsh(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [join(ROOT, "bin/ltsh.js"), ...args], {
    encoding: "utf8",
    env: { ...env, ...SOURCES },
  });
}

/** A PATH with the base tools a demo uses and none of the packages it installs. */
function pathWithoutPackages(): string {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-demo-path-"));
  for (const tool of ["taskset", "chrt", "mkfifo"]) {
    for (const where of ["/usr/bin", "/bin"]) {
      if (existsSync(join(where, tool)) && !existsSync(join(dir, tool)))
        symlinkSync(join(where, tool), join(dir, tool));
    }
  }
  return dir;
}

test("ltsh demo lists the three demos, one line each", () => {
  const listed = ltsh(["demo"]);
  assert.is(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split("\n");
  assert.equal(
    lines.map((l) => l.split(/\s+/)[0]),
    ["jack", "memcached-irq", "memcached-log"],
  );
});

test("an unknown demo is a usage error naming the demos", () => {
  const run = ltsh(["demo", "nope"]);
  assert.is(run.status, 2);
  assert.match(
    run.stderr,
    /no demo named 'nope' \(the demos: jack, memcached-irq, memcached-log\)/,
  );
});

test("--cpu takes an online CPU's number, else a usage error says which", () => {
  const last = cpus().length - 1;
  for (const cpu of ["x", "1.5", String(last + 1)]) {
    const run = ltsh(["demo", "jack", "--cpu", cpu]);
    assert.is(run.status, 2);
    assert.match(run.stderr, `--cpu ${cpu}: expected a CPU number from 0 to ${last}`);
  }
});

const INSTALL: Record<string, RegExp> = {
  jack: /the jack demo needs jackd, jack_simple_client, jack_wait, not found on PATH: apt-get install jackd2\n/,
  "memcached-irq":
    /the memcached-irq demo needs memcached, not found on PATH: apt-get install memcached\n/,
  "memcached-log":
    /the memcached-log demo needs memcached, not found on PATH: apt-get install memcached\n/,
};

for (const demo of DEMOS) {
  test(`without its packages, ltsh demo ${demo.name} exits 1 with the install line and starts nothing`, () => {
    const path = pathWithoutPackages();
    try {
      const before = existsSync("/tmp/ltsh-demo") ? readdirSync("/tmp/ltsh-demo") : [];
      const run = ltsh(["demo", demo.name], { ...process.env, PATH: path });
      assert.is(run.status, 1, run.stderr);
      assert.match(run.stderr, INSTALL[demo.name]);
      const after = existsSync("/tmp/ltsh-demo") ? readdirSync("/tmp/ltsh-demo") : [];
      assert.equal(after, before, "no demo state left");
      for (const name of ["jackd", "memcached"]) {
        assert.equal(runningNamed(name), [], `${name} is not running`);
      }
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
}

test("a crashed demo's process groups are killed by the next start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-demo-stale-"));
  try {
    // A pid that no longer runs: a process that has exited.
    const gone = spawnSync("true");
    const deadOwner = gone.pid as number;
    const orphan = spawn("sh", ["-c", "sleep 60 & sleep 60"], { detached: true, stdio: "ignore" });
    const reaped = new Promise((resolve) => orphan.on("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stat = (await import("node:fs")).readFileSync(`/proc/${orphan.pid}/stat`, "utf8");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    mkdirSync(join(dir, String(deadOwner)));
    writeFileSync(
      join(dir, String(deadOwner), "groups.json"),
      JSON.stringify([{ pgid: orphan.pid, start, command: "sh -c sleeps" }]),
    );
    // A living owner's groups are left alone.
    mkdirSync(join(dir, String(process.pid)));
    assert.equal(killStaleDemos(dir), ["sh -c sleeps"]);
    await reaped; // the leader, our child, is a zombie until then
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.not.ok(groupAlive(orphan.pid as number), "the whole group is gone");
    assert.equal(readdirSync(dir), [String(process.pid)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
