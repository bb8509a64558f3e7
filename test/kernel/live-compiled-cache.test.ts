// `ltsh run` (live eBPF) twice on one file: the repeat run takes its programs from the
// compiled cache, loads none of the compiler (checked on the modules the process loaded),
// and still attaches, gets the same hits and prints the same warnings. Edits and --no-cache miss.

import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { namedSleep, run } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PRELOAD = fileURLToPath(new URL("./loaded-modules.mjs", import.meta.url));

// `print, print`: a warning (duplicate action) that a cached run must print too.
const PROGRAM = `track nap: sys_enter_clock_nanosleep($tid) where comm == "ltsh_cachenap"
    -> sys_exit_clock_nanosleep($tid) > 1ms
    then print, print
`;

/** The parts of the front end and code generator a cached run must not load. */
const COMPILER =
  /src\/compiler\/(?:parse|ast-builder|checker|planner|compile|catalog\/index|bpf\/codegen)\.ts/;

/** Compiler modules among those a process loaded: its own files, or inside bundle chunks. */
function compilerModules(listing: string): string[] {
  const found = new Set<string>();
  for (const url of listing.split("\n").filter((u) => u.startsWith("file:"))) {
    const path = fileURLToPath(url);
    if (path.includes("/node_modules/chevrotain/")) found.add("chevrotain");
    const own = COMPILER.exec(path);
    if (own) found.add(own[0]);
    if (path.includes("/ltsh-bundle/")) {
      const marks = readFileSync(path, "utf8").matchAll(
        new RegExp(`^// (${COMPILER.source})$`, "gm"),
      );
      for (const m of marks) found.add(m[1]);
    }
  }
  return [...found].sort();
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  compiler: string[];
  /** It rebuilt the start-up bundle (sources changed): that run caches nothing. */
  rebuilt: boolean;
}

/** `ltsh run FILE ARGS`, with a task napping 5 ms over and over while it runs when `nap`. */
async function ltshRun(dir: string, args: string[], nap?: string): Promise<CliRun> {
  const loads = join(dir, "loaded.txt");
  const child = spawn(
    process.execPath,
    ["--import", PRELOAD, join(ROOT, "bin/ltsh.js"), "run", join(dir, "nap.lt"), ...args],
    { env: { ...process.env, XDG_CACHE_HOME: dir, LTSH_LOADED_MODULES: loads } },
  );
  let [stdout, stderr] = ["", ""];
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  let done = false;
  void exited.then(() => (done = true));
  while (nap && !done) await run([nap, "0.005"]);
  const code = await exited;
  const listing = readFileSync(loads, "utf8");
  const rebuilt = listing.includes("/node_modules/esbuild/");
  return { code, stdout, stderr, compiler: compilerModules(listing), rebuilt };
}

const entries = (dir: string) =>
  existsSync(join(dir, "ltsh", "compiled")) ? readdirSync(join(dir, "ltsh", "compiled")) : [];
const hits = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith('{"type":"hit"'))
    .map((l) => JSON.parse(l) as { tracker: string; begin: { comm: string } });

const skip = kernelSkipReason();
if (skip !== null) reportSkip("live compiled cache", skip);
else {
  test("a repeat run loads its programs from the cache, without the compiler, and gets hits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-cache-run-"));
    const napper = namedSleep("ltsh_cachenap");
    try {
      writeFileSync(join(dir, "nap.lt"), PROGRAM);
      const args = ["--json", "--for", "700ms"];
      const first = await ltshRun(dir, args, napper.path);
      let second = first;
      // A run that rebuilt the bundle caches nothing, and one after an edit of ltsh's sources
      // (others work in this tree) stores a new entry: then run again, a few times at most.
      for (let attempt = 0; attempt < 4; attempt++) {
        const stored = entries(dir).length;
        second = await ltshRun(dir, args, napper.path);
        if (second.compiler.length === 0 || (!second.rebuilt && entries(dir).length === stored))
          break;
      }
      assert.ok(first.compiler.includes("chevrotain"), "the first run compiles");
      assert.equal(second.compiler, [], "the repeat run loads no compiler module");
      for (const r of [first, second]) {
        assert.is(r.code, 0, r.stderr);
        assert.ok(hits(r.stdout).length > 0, "hits");
        assert.ok(
          hits(r.stdout).every((h) => h.tracker === "nap" && h.begin.comm === "ltsh_cachenap"),
        );
        assert.match(r.stdout, /"type":"summary","tracker":"nap"/);
      }
      assert.match(second.stderr, /warning: print is already listed/);
      assert.is(second.stderr, first.stderr, "the same warnings");

      appendFileSync(join(dir, "nap.lt"), "# edited\n");
      const edited = await ltshRun(dir, ["--for", "10ms"]);
      assert.ok(edited.compiler.includes("chevrotain"), "an edited file compiles again");
      const before = entries(dir).length;
      const uncached = await ltshRun(dir, ["--for", "10ms", "--no-cache"]);
      assert.is(uncached.code, 0, uncached.stderr);
      assert.ok(uncached.compiler.includes("chevrotain"), "--no-cache compiles");
      assert.is(entries(dir).length, before, "--no-cache keeps nothing");
    } finally {
      napper.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.run();
}
