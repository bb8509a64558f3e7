// The parts of `ltsh serve` that need no kernel: journald log lines, the hit-line rate
// limit, the rotated NDJSON hits file, and the command's usage and start-up errors.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { HitsFile, parseSize } from "../../src/metrics/hits-file.ts";
import { HitLogLimiter, Journal } from "../../src/metrics/journal.ts";
import { BIN, EXAMPLES, startLtsh } from "./child.ts";

test("journal: every line of a message gets its <N> priority prefix", () => {
  let text = "";
  const journal = new Journal((t) => (text += t));
  journal.error("a.lt:1:1: error: x\n 1 | y\n   | ^\n");
  journal.info("started");
  journal.warning("w");
  journal.notice("n");
  assert.is(text, "<3>a.lt:1:1: error: x\n<3> 1 | y\n<3>   | ^\n<6>started\n<4>w\n<5>n\n");
});

test("hit lines: at most N a second, the rest counted in one line", () => {
  let text = "";
  let now = 0;
  const limiter = new HitLogLimiter(new Journal((t) => (text += t)), 2, () => now);
  for (let i = 0; i < 5; i++) limiter.log(`hit ${i}`);
  now = 1000;
  limiter.log("hit 5");
  assert.is(
    text,
    "<6>hit 0\n<6>hit 1\n<5>3 more hits not logged (--hits FILE keeps every hit)\n<6>hit 5\n",
  );
});

test("sizes: binary multiples", () => {
  assert.is(parseSize("64MiB"), 64 * 1024 * 1024);
  assert.is(parseSize("500k"), 500 * 1024);
  assert.is(parseSize("1000"), 1000);
  assert.is(parseSize("1G"), 1024 ** 3);
  for (const bad of ["", "0", "-1", "1x", "MiB"]) assert.is(parseSize(bad), null, bad);
});

test("hits file: appends, rotates before passing the size, keeps N old files", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-hits-"));
  try {
    const path = join(dir, "hits.ndjson");
    writeFileSync(path, "old\n");
    const errors: string[] = [];
    const file = new HitsFile(path, {
      maxBytes: 20,
      keep: 2,
      onError: (e) => errors.push(e.message),
    });
    const line = (n: number) => `{"n":${String(n).padStart(5, "0")}}`; // 12 bytes with \n
    for (let n = 0; n < 5; n++) {
      file.append(line(n));
      file.flush();
    }
    file.close();
    // old(4) + line0 = 16 bytes; line1 would make 28 > 20: rotate; and so on.
    assert.is(readFileSync(path, "utf8"), `${line(4)}\n`);
    assert.is(readFileSync(`${path}.1`, "utf8"), `${line(3)}\n`);
    assert.is(readFileSync(`${path}.2`, "utf8"), `${line(2)}\n`);
    assert.not.ok(existsSync(`${path}.3`), "only two rotated files kept");
    assert.equal(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hits file: reopen() follows a file moved away by logrotate", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-hits-"));
  try {
    const path = join(dir, "hits.ndjson");
    const file = new HitsFile(path, { maxBytes: 1 << 20, keep: 1, onError: () => {} });
    file.append("before");
    file.flush();
    renameSync(path, `${path}.moved`);
    file.reopen();
    file.append("after");
    file.close();
    assert.is(readFileSync(`${path}.moved`, "utf8"), "before\n");
    assert.is(readFileSync(path, "utf8"), "after\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hits file: lines queued in one turn are written by one flush, in order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-hits-"));
  try {
    const path = join(dir, "hits.ndjson");
    const file = new HitsFile(path, { maxBytes: 1 << 20, keep: 1, onError: () => {} });
    file.append("a");
    file.append("b");
    assert.is(readFileSync(path, "utf8"), "", "not yet written");
    await new Promise((resolve) => setImmediate(resolve));
    assert.is(readFileSync(path, "utf8"), "a\nb\n");
    file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function serve(args: string[]) {
  return spawnSync(process.execPath, [BIN, "serve", ...args], { encoding: "utf8" });
}

const wakeup = `${EXAMPLES}wakeup.lt`;
const demo = `${EXAMPLES}traces/demo.txt.gz`;

test("serve: usage errors exit 2 with one line and the pointer to --help", () => {
  const cases: [string[], string][] = [
    [[], "expected one or more FILE.lt"],
    [
      [wakeup, "--metrics", "x"],
      "--metrics expects [HOST]:PORT such as :9464 or 127.0.0.1:9464, not 'x'",
    ],
    [
      [wakeup, "--hits", "h", "--hits-max-size", "big"],
      "--hits-max-size expects a size such as 64MiB or 500k, not 'big'",
    ],
    [[wakeup, "--hits", "h", "--hits-keep", "two"], "--hits-keep expects a count, not 'two'"],
    [[wakeup, "--hits-keep", "3"], "--hits-max-size and --hits-keep apply to --hits only"],
  ];
  for (const [args, message] of cases) {
    const result = serve(args);
    assert.is(result.status, 2, args.join(" "));
    assert.is(result.stderr, `ltsh serve: error: ${message}\nTry 'ltsh serve --help'.\n`);
  }
});

test("serve: a file with errors at start is logged with its caret, exit 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-serve-"));
  try {
    const path = join(dir, "bad.lt");
    writeFileSync(path, "track x: nope(pid) -> sched_switch(next_pid)\n");
    const result = serve([path, "--replay", demo, "--metrics", "127.0.0.1:0"]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /^<3>.*bad\.lt:1:10: error: unknown tracepoint 'nope'$/m);
    assert.match(result.stderr, /^<3> +\| +\^~~~$/m);
    assert.not.match(result.stderr, /serving metrics/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve: the same tracker name in two files is refused", () => {
  const result = serve([wakeup, wakeup, "--replay", demo, "--metrics", "127.0.0.1:0"]);
  assert.is(result.status, 1);
  assert.match(
    result.stderr,
    /^<3>.*wakeup\.lt: error: tracker 'wakeup' is also defined in .*wakeup\.lt$/m,
  );
});

test("serve: a hits file it cannot open, or a port in use, is one log line and exit 1", async () => {
  const args = [wakeup, "--replay", demo];
  const noDir = serve([
    ...args,
    "--metrics",
    "127.0.0.1:0",
    "--hits",
    "/nonexistent/dir/hits.ndjson",
  ]);
  assert.is(noDir.status, 1);
  assert.match(
    noDir.stderr,
    /^<3>error: ENOENT: no such file or directory, open '\/nonexistent\/dir\/hits\.ndjson'\n$/,
  );
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  try {
    const port = (holder.address() as { port: number }).port;
    const taken = serve([...args, "--metrics", `127.0.0.1:${port}`]);
    assert.is(taken.status, 1);
    assert.is(
      taken.stderr,
      `<3>error: cannot serve metrics on 127.0.0.1:${port}: the address is in use (another ltsh or exporter listens there; pick another port)\n`,
    );
  } finally {
    holder.close();
  }
});

test("serve without --hits logs the hits of trackers that print, at most 20 a second", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-serve-"));
  const path = join(dir, "two.lt");
  const pairing = "sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us";
  writeFileSync(path, `track printed: ${pairing}\ntrack quiet: ${pairing} then stack\n`);
  const ltsh = startLtsh(["serve", path, "--replay", demo, "--metrics", "127.0.0.1:0"]);
  try {
    await ltsh.waitForStderr(/the trace has ended/);
    await ltsh.waitForStderr(
      /^<5>\d+ more hits not logged \(--hits FILE keeps every hit\)$/m,
      3000,
    );
    ltsh.child.kill("SIGTERM");
    assert.is(await ltsh.exited, 0);
    const hitLines = ltsh.output.stderr.split("\n").filter((l) => /^<6>\d+\.\d+ \w+ /.test(l));
    // The demo trace has over a thousand such hits, replayed within a second or two.
    assert.ok(hitLines.length >= 20 && hitLines.length <= 60, `${hitLines.length} hit lines`);
    assert.ok(
      hitLines.every((l) => l.split(" ")[1] === "printed"),
      "none of the tracker without print",
    );
  } finally {
    await ltsh.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve --help; ltsh --help lists serve", () => {
  assert.match(serve(["--help"]).stdout, /^Usage: ltsh serve FILE\.lt\.\.\./);
  const global = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
  assert.match(global.stdout, /^ {2}serve +the headless daemon/m);
});

test.run();
