// `npm run build:exe`: dist/ltsh is built, then run with a PATH that holds no node and a
// fresh HOME (so it unpacks its files): --version, check on every example, a replay equal
// to bin/ltsh.js's, and a live run with hits.

import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { VERSION } from "../../src/commands/usage.ts";
import { exampleFiles } from "../corpus.ts";
import { kernelSkipReason, reportSkip } from "../kernel/support.ts";
import { BIN, EXAMPLES } from "./child.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXE = join(ROOT, "dist", "ltsh");
const home = mkdtempSync(join(tmpdir(), "ltsh-exe-home-"));
const emptyBin = join(home, "bin");
mkdirSync(emptyBin);
const env = { PATH: emptyBin, HOME: home, LANG: "C.UTF-8" };

function exe(args: string[]) {
  return spawnSync(EXE, args, { encoding: "utf8", env, cwd: home, maxBuffer: 256 * 2 ** 20 });
}

test("npm run build:exe builds dist/ltsh", () => {
  execFileSync("npm", ["run", "--silent", "build:exe"], { cwd: ROOT, stdio: "pipe" });
  assert.ok(statSync(EXE).mode & 0o100, "executable");
  assert.ok(statSync(EXE).size > 50 * 2 ** 20, "node and the bundle inside");
  assert.is(
    spawnSync("node", ["--version"], { env }).error?.message,
    "spawnSync node ENOENT",
    "no node on this PATH",
  );
});

test("--version, from a fresh HOME: it unpacks its files into ~/.cache/ltsh/exe", () => {
  const result = exe(["--version"]);
  assert.is(result.stderr, "");
  assert.is(result.stdout, `ltsh ${VERSION}\n`);
  const unpacked = readdirSync(join(home, ".cache", "ltsh", "exe"));
  assert.is(unpacked.length, 1);
  const root = join(home, ".cache", "ltsh", "exe", unpacked[0]);
  assert.ok(existsSync(join(root, "node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node")));
  assert.is(statSync(root).mode & 0o077, 0, "a directory of this user's only");
});

test("a new build's first start removes all but the newest builds' files", () => {
  const base = join(home, ".cache", "ltsh", "exe");
  const stale = ["0000000000000001", "0000000000000002", "0000000000000003"];
  for (const [i, name] of stale.entries()) {
    mkdirSync(join(base, name));
    utimesSync(join(base, name), 1000 + i, 1000 + i);
  }
  const [current] = readdirSync(base).filter((name) => !stale.includes(name));
  rmSync(join(base, current), { recursive: true });
  assert.is(exe(["--version"]).status, 0);
  assert.equal(readdirSync(base).sort(), [current, "0000000000000002", "0000000000000003"].sort());
});

test("check examples/*.lt: silent, exit 0", () => {
  const examples = exampleFiles().map((f) => join(EXAMPLES, f));
  const result = exe(["check", ...examples]);
  assert.is(result.stderr, "");
  assert.is(result.status, 0);
});

test("a replay prints what bin/ltsh.js prints", () => {
  const args = [
    "run",
    `${EXAMPLES}wakeup.lt`,
    "--replay",
    `${EXAMPLES}traces/demo.txt.gz`,
    "--json",
  ];
  const fromExe = exe(args);
  assert.is(fromExe.status, 0, fromExe.stderr);
  const fromNode = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  assert.ok(fromExe.stdout.length > 1000);
  assert.is(fromExe.stdout, fromNode.stdout);
});

const skip = kernelSkipReason();
if (skip) reportSkip("dist/ltsh live", skip);
else {
  test("a live run with hits", () => {
    const file = join(home, "busy.lt");
    writeFileSync(file, "track w: sched_wakeup(args.pid) -> sched_switch(next_pid) > 20us\n");
    const result = exe(["run", file, "--for", "1s", "--json"]);
    assert.is(result.status, 0, result.stderr);
    const records = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(
      records.some((r) => r.type === "hit" && r.tracker === "w"),
      "hits",
    );
    assert.is(records.at(-1).type, "summary");
    assert.ok(records.at(-1).pairs > 0);
  });
}

test("clean up", () => {
  rmSync(home, { recursive: true, force: true });
});

test.run();
