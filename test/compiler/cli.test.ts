// The front end's commands as a user runs them: check, events, compile --emit plan and
// --target, with exit codes. Run in-process (main()), plus one real process for the
// "no stack trace, exit 1" contract.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets } from "../../src/compiler/targets.ts";
import { main } from "../../src/main.ts";

const root = new URL("../../", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "ltsh-cli-test-"));

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

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const examples = ["wakeup", "offcpu", "irq", "syscall", "block", "network", "ttfb"].map(
  (n) => `${root}examples/${n}.lt`,
);

test("check: the examples are silent, exit 0 (bundled and default catalog)", async () => {
  assert.equal(await ltsh("check", "--catalog", "bundled", ...examples), {
    code: 0,
    out: "",
    err: "",
  });
  assert.equal(await ltsh("check", ...examples), { code: 0, out: "", err: "" });
});

test("check: a bad file prints located errors, exit 1", async () => {
  const bad = file("bad.lt", "track sched_wakeup(args.pid) -> sched_switch(next_pid) > 200\n");
  const r = await ltsh("check", "--catalog", "bundled", bad);
  assert.is(r.code, 1);
  assert.is(
    r.err.split("\n")[0],
    `${bad}:1:58: error: threshold 200 needs a unit (ns, us, ms, s), e.g. 200us`,
  );
});

test("check: empty, non-UTF-8 and missing files are errors, not crashes", async () => {
  const empty = await ltsh("check", "--catalog", "bundled", file("empty.lt", ""));
  assert.match(empty.err, /empty\.lt:1:1: error: .*empty\.lt is empty/);
  const binary = await ltsh("check", "--catalog", "bundled", `${root}test/fixtures/lt/not-utf8.lt`);
  assert.match(binary.err, /not-utf8\.lt:1:46: error: .* is not UTF-8 text/);
  const missing = await ltsh("check", "--catalog", "bundled", join(tmp, "nope.lt"));
  assert.match(missing.err, /error: cannot read .*nope\.lt: no such file/);
  assert.equal([empty.code, binary.code, missing.code], [1, 1, 1]);
});

test("check: usage errors exit 2", async () => {
  assert.is((await ltsh("check")).code, 2);
  assert.is((await ltsh("check", "--bogus", examples[0])).code, 2);
});

test("check --catalog with an unreadable catalog: one line, exit 1", async () => {
  const r = await ltsh("check", "--catalog", join(tmp, "missing.json"), examples[0]);
  assert.equal(r, {
    code: 1,
    out: "",
    err: `ltsh: error: catalog ${join(tmp, "missing.json")} does not exist\n`,
  });
});

test("events: a glob lists names; a name shows its fields", async () => {
  const list = await ltsh("events", "--catalog", "bundled", "sched_wak*");
  assert.equal(list.out.trim().split("\n"), [
    "sched:sched_wake_idle_without_ipi",
    "sched:sched_wakeup",
    "sched:sched_wakeup_new",
    "sched:sched_waking",
  ]);
  const fields = await ltsh("events", "--catalog", "bundled", "sched_wakeup");
  assert.is(fields.code, 0);
  const lines = fields.out.split("\n");
  assert.match(lines[0], /^sched:sched_wakeup \(id \d+\)$/);
  assert.match(lines[1], /^ {2}FIELD +C TYPE +SIZE +OFFSET +SIGNED +LTSH TYPE$/);
  assert.match(fields.out, /\n {2}comm +char\[16\] +16 +8 +no +string \(char\[16\]\)\n/);
  assert.match(fields.out, /\n {2}pid +pid_t +4 +24 +yes +integer \(s32\)\n/);
  assert.not.match(fields.out, /common_pid/);
  assert.match(
    (await ltsh("events", "--catalog", "bundled", "--all", "sched_wakeup")).out,
    /common_pid/,
  );
});

test("events: a category name lists the category", async () => {
  const r = await ltsh("events", "--catalog", "bundled", "raw_syscalls");
  assert.equal(r.out.trim().split("\n"), ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]);
});

test("events: regex characters in a pattern are literal", async () => {
  assert.is((await ltsh("events", "--catalog", "bundled", "sched[")).code, 1);
  assert.is(
    (await ltsh("events", "--catalog", "bundled", "sched_w?keup")).out,
    "sched:sched_wakeup\n",
  );
});

test("events: an unknown name suggests", async () => {
  const r = await ltsh("events", "--catalog", "bundled", "sched_wakup");
  assert.is(r.code, 1);
  assert.match(r.err, /unknown tracepoint 'sched_wakup'; did you mean sched_wakeup/);
});

test("compile --emit plan prints the plan as JSON", async () => {
  const r = await ltsh("compile", "--catalog", "bundled", examples[0], "--emit", "plan");
  assert.is(r.code, 0);
  const plan = JSON.parse(r.out);
  assert.is(plan.trackers[0].name, "wakeup");
  assert.is(plan.trackers[0].thresholdNs, 200_000);
});

test("compile --target with an unknown name lists the available targets, exit 2", async () => {
  const r = await ltsh("compile", examples[0], "--target", "bogus");
  assert.is(r.code, 2);
  assert.match(r.err, /unknown target 'bogus'; available: /);
  assert.is((await ltsh("compile", examples[0])).code, 2);
  assert.is((await ltsh("compile", examples[0], "--emit", "asm")).code, 2);
});

test("compile --target: a target refusing the program shows its diagnostics located in the source", async () => {
  targets.push({
    name: "refuser",
    summary: "test target",
    async emit(plan) {
      const range = plan.trackers[0].begins[0].range;
      throw Object.assign(new Error("no"), {
        diagnostics: [{ severity: "error", code: "t", message: "not on this target", range }],
      });
    },
  });
  try {
    const r = await ltsh("compile", "--catalog", "bundled", examples[0], "--target", "refuser");
    assert.is(r.code, 1);
    assert.match(
      r.err,
      /wakeup\.lt:15:5: error: not on this target\n 15 \| {5}sched_wakeup\(args\.pid\)\n/,
    );
  } finally {
    targets.pop();
  }
});

test("a real process: errors on stderr, no stack trace, exit 1", () => {
  const bad = file(
    "bad2.lt",
    'track sched_wakeup(args.pid) -> sched_switch(next_pid) then exec "x\n',
  );
  const r = spawnSync(process.execPath, [`${root}bin/ltsh.js`, "check", bad], { encoding: "utf8" });
  assert.is(r.status, 1);
  assert.match(r.stderr, /bad2\.lt:1:66: error: unterminated string/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
