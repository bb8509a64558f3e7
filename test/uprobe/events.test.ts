// `ltsh events usdt:PATH` and `ltsh events 'uprobe:PATH:GLOB'` as a user runs them: the
// workload's probes with their arguments, functions of a binary and of libc by name, and
// one-line errors with exit 1 for what cannot be listed.

import { spawnSync } from "node:child_process";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveBinary } from "../../src/compiler/uprobe/resolve-path.ts";
import { main } from "../../src/main.ts";
import { buildWorkload, workloadSkipReason } from "./workload.ts";

async function ltsh(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

test("usdt:PATH lists every probe, sorted, with each argument's spec, type and place", async () => {
  const { pie } = buildWorkload();
  const r = await ltsh("events", `usdt:${pie}`);
  assert.is(r.code, 0, r.err);
  const headers = r.out.split("\n").filter((l) => l.startsWith("usdt:"));
  assert.equal(
    headers.map((h) => h.slice(`usdt:${pie}:`.length)),
    [
      "ltsh:constants",
      "ltsh:frame",
      "ltsh:globals",
      "ltsh:guarded  (semaphore)",
      "ltsh:indexed",
      "ltsh:registers",
      "ltsh:scaled",
      "ltsh:tick  (2 sites)",
      "ltsh:widths",
      "ltsh:work__begin",
      "ltsh:work__end",
    ],
  );
  assert.match(
    r.out,
    `usdt:${pie}:ltsh:constants\n  arg0  4@$5    u32 constant 5\n  arg1  -4@$-1  s32 constant -1\n`,
  );
  assert.match(r.out, /\n {2}arg5 {2}1@%r10b {2}u8 in %r10b\n/);
  assert.match(r.out, /\n {2}arg1 {2}8@\(%rax,%rbx,8\) {7}u64 at \(%rax,%rbx,8\)\n/);
});

test("usdt:PATH:GLOB lists some probes; a relative path and a misspelt name", async () => {
  const { pie } = buildWorkload();
  const r = await ltsh("events", `usdt:${pie}:work*`);
  assert.equal(
    r.out.split("\n").filter((l) => l.startsWith("usdt:")),
    [`usdt:${pie}:ltsh:work__begin`, `usdt:${pie}:ltsh:work__end`],
  );
  const typo = await ltsh("events", `usdt:${pie}:ltsh:guard`);
  assert.is(typo.code, 1);
  assert.match(
    typo.err,
    `ltsh events: error: no USDT probe 'ltsh:guard' in ${pie}; did you mean 'ltsh:guarded'?`,
  );
  assert.is(typo.err.split("\n").length, 2, "one line");
});

test("uprobe:PATH:GLOB lists functions; the stripped build through its dynamic symbols", async () => {
  const { pie, stripped } = buildWorkload();
  for (const path of [pie, stripped]) {
    const r = await ltsh("events", `uprobe:${path}:lt_*`);
    assert.is(r.code, 0, r.err);
    const names = r.out
      .trim()
      .split("\n")
      .map((l) => l.slice(`uprobe:${path}:`.length));
    for (const name of [
      "lt_add",
      "lt_forms",
      "lt_frame",
      "lt_greet",
      "lt_guarded",
      "lt_guarded_enabled",
    ])
      assert.ok(names.includes(name), `${name} in ${path}`);
    assert.ok(names.every((n) => n.startsWith("lt_")));
  }
  const typo = await ltsh("events", `uprobe:${pie}:lt_ad`);
  assert.is(typo.code, 1);
  assert.is(
    typo.err,
    `ltsh events: error: no function 'lt_ad' in ${pie}; did you mean 'lt_add'?\n`,
  );
});

test("uprobe:libc:GLOB and uretprobe:bash:GLOB resolve library and program names", async () => {
  const libc = resolveBinary("libc");
  assert.ok(libc.ok);
  const r = await ltsh("events", "uprobe:libc:nanosleep");
  assert.is(r.out, `uprobe:${libc.ok ? libc.value : ""}:nanosleep\n`);
  const bash = await ltsh("events", "uretprobe:bash:readline");
  assert.is(bash.out, `uretprobe:${realpathSync("/bin/bash")}:readline\n`);
});

test("a missing binary, a non-ELF file, a binary without probes: one line, exit 1", async () => {
  const { dir } = buildWorkload();
  const text = join(dir, "readme.txt");
  writeFileSync(text, "not a program\n");
  const cases: [string, string][] = [
    [`usdt:${dir}/missing`, `ltsh events: error: ${dir}/missing: no such file\n`],
    [`uprobe:${text}:main`, `ltsh events: error: ${text} is not an ELF file\n`],
    [
      "usdt:/bin/true",
      `ltsh events: error: ${realpathSync("/bin/true")} has no USDT probes (no .note.stapsdt section)\n`,
    ],
    [
      "uprobe:ltsh-no-such-program:x",
      "ltsh events: error: no program or library named 'ltsh-no-such-program' (searched $PATH and /etc/ld.so.cache)\n",
    ],
  ];
  cases.push(["usdt:", "ltsh events: error: name a binary or library: ltsh events usdt:PATH\n"]);
  cases.push([
    "uprobe:",
    "ltsh events: error: name a binary or library: ltsh events 'uprobe:PATH:GLOB'\n",
  ]);
  for (const [spec, message] of cases) {
    const r = await ltsh("events", spec);
    assert.is(r.code, 1, spec);
    assert.is(r.err, message);
    assert.is(r.out, "");
  }
});

test("as a process: no stack trace, exit 1", () => {
  const root = new URL("../../", import.meta.url).pathname;
  const r = spawnSync("node", [join(root, "bin/ltsh.js"), "events", "usdt:/no/such/file"], {
    encoding: "utf8",
  });
  assert.is(r.status, 1);
  assert.is(r.stderr, "ltsh events: error: /no/such/file: no such file\n");
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip uprobe/events: ${skip}`);
else test.run();
