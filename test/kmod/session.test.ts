// The kmod backend: where modules cannot be loaded, one clear message; elsewhere (a fake
// host standing in for make/insmod/rmmod, the device and the stats file) hits and
// summaries as the other backends give them, and every module removed on close.

import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KernelSymbols } from "../../src/kernel/kallsyms.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";
import { KmodSession } from "../../src/session/kmod.ts";
import { HIT_RECORD_SIZE, LT_HIT_CAPTURES } from "../../src/session/kmod-decode.ts";
import {
  type KmodHost,
  kmodUnavailableReason,
  moduleLog,
  removeStaleBuildDirs,
} from "../../src/session/kmod-host.ts";
import { reportSkip, TRACEFS, tracefsSkipReason } from "../snapshot/support.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { planOf } from "./support.ts";

const TRACEFS_INSTANCES = join(TRACEFS, "instances");

const listener = { hit() {}, warning() {} };
/** Every path the fake host was asked to insert. */
const inserted: string[] = [];

test("a kernel without module support is named, with what to do instead", () => {
  assert.match(kmodUnavailableReason("9.9.9-test") ?? "", /9\.9\.9-test/);
});

if (!existsSync("/proc/modules")) {
  test("opening the kmod backend here fails with that reason", async () => {
    try {
      await openSession("kmod", { listener, options: {} });
      assert.unreachable("opened");
    } catch (error) {
      assert.match(
        (error as Error).message,
        /^the kmod backend cannot run here: the running kernel \(.*\) cannot load modules/,
      );
      assert.match((error as Error).message, /npm run test:vm/);
    }
  });
} else {
  console.log("  skip kmod open failure: this kernel can load modules (see npm run test:vm)");
}

/**
 * A host whose "module", once inserted, has two hits in its device and one stats line; the
 * hits begin at `beginNs` (CLOCK_MONOTONIC ns) and 300 and 450 µs later. Each is followed by
 * an all-zero captures record (LT_HIT_CAPTURES), which a tracker without captures ignores.
 */
function fakeHost(
  root: string,
  calls: string[],
  loaded: string[] = [],
  cache: KmodHost["cache"] = null,
  beginNs = 1_000n,
  stack: bigint[] = [],
): KmodHost {
  return {
    cache,
    async build(dir) {
      calls.push("build");
      const kbuild = readdirSync(dir).find((f) => f === "Kbuild");
      const name = /obj-m :?= (\w+)\.o/.exec(readFileSync(join(dir, kbuild ?? "-"), "utf8"));
      if (!name) return "no Kbuild";
      writeFileSync(join(dir, `${name[1]}.ko`), `built from ${dir}`);
      return null;
    },
    isLoaded: (name) => loaded.includes(name),
    insert(ko) {
      const name = ko.replace(/^.*\//, "").replace(/\.ko$/, "");
      calls.push(`insmod ${name}`);
      inserted.push(ko);
      const records = Buffer.alloc(4 * HIT_RECORD_SIZE);
      for (const [i, latency] of [300_000n, 450_000n].entries()) {
        const at = 2 * i * HIT_RECORD_SIZE;
        records.writeUInt32LE(LT_HIT_CAPTURES, at + HIT_RECORD_SIZE + 4);
        records.writeUInt32LE(1, at + 4);
        records.writeBigUInt64LE(latency, at + 8);
        records.writeUInt32LE(8, at + 16);
        records.writeBigInt64LE(4242n, at + 24);
        records.writeBigUInt64LE(beginNs, at + 56);
        records.writeBigUInt64LE(beginNs + latency, at + 96);
        records.write("cyclictest", at + 96 + 24, "latin1");
        records.writeUInt32LE(stack.length, at + 136);
        for (const [k, address] of stack.entries()) {
          records.writeBigUInt64LE(address, at + 144 + 8 * k);
        }
      }
      writeFileSync(join(root, `${name}.dev`), records);
      const hist = Array.from({ length: 64 }, (_, b) => (b === 19 ? 2 : b === 10 ? 5 : 0));
      writeFileSync(
        join(root, `${name}.stats`),
        `tracker=wakeup pairs=7 hits=2 timeouts=0 dropped=0 lost=1 min_ns=900 max_ns=450000 hist=${hist.join(",")} pending=3 sum_ns=904500\n`,
      );
      return null;
    },
    stop(name) {
      calls.push(`stop ${name}`);
      return null;
    },
    remove(name) {
      calls.push(`rmmod ${name}`);
      return null;
    },
    devicePath: (name) => join(root, `${name}.dev`),
    statsPath: (name) => join(root, `${name}.stats`),
    kernelSymbols: () => FAKE_SYMBOLS,
  };
}

/** A kernel with the IRQ core and, once inserted, the module lt_i (as /proc/kallsyms lists). */
const FAKE_SYMBOLS = KernelSymbols.parse(
  [
    "ffffffff81000000 T __handle_irq_event_percpu",
    "ffffffff81000200 T handle_irq_event",
    "ffffffffc0000000 t lt_emit\t[lt_i]",
    "ffffffffc0000400 t i_on_irq_handler_exit\t[lt_i]",
  ].join("\n"),
);

test("then stack: hits carry the end's kernel stack, symbolised, without the module's frames", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const hits: HitRecord[] = [];
  const plan = planOf("track i: irq_handler_entry(irq) -> irq_handler_exit(irq) then print, stack");
  const stack = [
    0xffffffffc0000010n,
    0xffffffffc0000420n,
    0xffffffff81000042n,
    0xffffffff81000210n,
  ];
  const session = new KmodSession(
    { hit: (h) => hits.push(h), warning() {} },
    {},
    fakeHost(root, [], [], null, 1_000n, stack),
  );
  await session.add(plan.trackers[0]);
  await session.close();
  assert.is(hits.length, 2);
  assert.equal(hits[0].stack, ["__handle_irq_event_percpu+0x42", "handle_irq_event+0x10"]);
  rmSync(root, { recursive: true, force: true });
});

test("a tracker is built, inserted, read, summarised and removed", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const calls: string[] = [];
  const hits: HitRecord[] = [];
  const plan = planOf("track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us")
    .trackers[0];
  const session = new KmodSession(
    { hit: (h) => hits.push(h), warning() {} },
    {},
    fakeHost(root, calls),
  );
  await session.add(plan);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(
    hits.map((h) => [h.tracker, h.kind, h.latency_ns, h.key, h.end?.comm]),
    [
      ["wakeup", "threshold", 300000, [4242n], "cyclictest"],
      ["wakeup", "threshold", 450000, [4242n], "cyclictest"],
    ],
  );
  assert.is(session.stats()[0].summary.pairs, 7);
  const [summary] = await session.close();
  assert.equal(calls, ["build", "insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"]);
  assert.equal([summary.pairs, summary.hits, summary.dropped, summary.pending], [7, 2, 1, 3]);
  assert.equal([summary.min_ns, summary.max_ns, summary.sum_ns], [900, 450000, 904500]);
  assert.equal(summary.hist, [
    { le_ns: 1024, count: 5 },
    { le_ns: 524288, count: 2 },
  ]);
  assert.is(session.stats()[0].running, false);
  rmSync(root, { recursive: true, force: true });
});

const noTracefs = tracefsSkipReason();
if (noTracefs === null) {
  test("then snapshot: the session's flight recorder takes it from the hits it reads", async () => {
    const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
    const calls: string[] = [];
    const hits: HitRecord[] = [];
    const warnings: string[] = [];
    const text = `set snapshot.dir = "${join(root, "snapshots")}"
track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us then snapshot`;
    const plan = planOf(text);
    const recent = process.hrtime.bigint() - 2_000_000n;
    const session = new KmodSession(
      { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
      plan.options,
      fakeHost(root, calls, [], null, recent),
    );
    await session.add(plan.trackers[0]);
    await session.close(); // waits for the snapshot being written
    assert.is(hits.length, 2);
    // The first is written; the second, in the same second, is skipped by the rate limit.
    const [first, second] = hits;
    assert.ok(first.snapshot?.startsWith(join(root, "snapshots")), String(first.snapshot));
    assert.ok(existsSync(first.snapshot ?? "-"), "snapshot file missing");
    assert.is(second.snapshot, null);
    assert.ok(
      warnings.some((w) => /skipped/.test(w)),
      `no word of the skipped snapshot: ${warnings}`,
    );
    assert.not.ok(
      warnings.some((w) => /loaded by hand/.test(w)),
      "the module's own warning",
    );
    assert.not.ok(
      readdirSync(TRACEFS_INSTANCES).some((i) => i.startsWith(`ltsh-${process.pid}-`)),
      "recorder instance left",
    );
    rmSync(root, { recursive: true, force: true });
  });
} else reportSkip("kmod snapshot", noTracefs);

const usdtSkip = workloadSkipReason();
if (usdtSkip === null) {
  test("user-space probes: the module's C has their sites; hits name the probes", async () => {
    const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
    const calls: string[] = [];
    const hits: HitRecord[] = [];
    const P = buildWorkload().pie;
    const text = `track wakeup: usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0) > 200us`;
    const plan = planOf(text).trackers[0];
    const host = fakeHost(root, calls);
    let source = "";
    const build = host.build;
    host.build = async (dir) => {
      source = readFileSync(join(dir, "lt_wakeup_main.c"), "utf8");
      return build(dir);
    };
    const session = new KmodSession({ hit: (h) => hits.push(h), warning() {} }, {}, host);
    await session.add(plan);
    await session.close();
    assert.is(source.match(/LT_UPROBE\("/g)?.length, 2);
    assert.equal(
      hits.map((h) => [h.begin.probe, h.end?.probe]),
      Array(2).fill([`usdt:${P}:ltsh:work__begin`, `usdt:${P}:ltsh:work__end`]),
    );
    assert.equal(calls, ["build", "insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"]);
    rmSync(root, { recursive: true, force: true });
  });
} else reportSkip("kmod user-space probes session", usdtSkip);

test("a failed insmod says what the module logged then, not older lines or other modules'", () => {
  const dmesg = [
    "[  10.000000] lt_x: cannot find /old/app: -2",
    "[  12.500000] lt_y: cannot find /usr/bin/other: -2",
    "[  12.500001] lt_x: cannot find /usr/bin/app: -2",
    "[  12.600000] lt_x: something else",
  ].join("\n");
  assert.equal(moduleLog(dmesg, "lt_x", 12.5), [
    "lt_x: cannot find /usr/bin/app: -2",
    "lt_x: something else",
  ]);
});

test("a module already in the kernel is refused before building, naming the rmmod", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const calls: string[] = [];
  const plan = planOf("track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us")
    .trackers[0];
  const session = new KmodSession(listener, {}, fakeHost(root, calls, ["lt_wakeup"]));
  try {
    await session.add(plan);
    assert.unreachable("added");
  } catch (error) {
    assert.match(
      (error as Error).message,
      "lt_wakeup is already loaded (by another ltsh session, or left by one that was killed: rmmod lt_wakeup)",
    );
  }
  assert.equal(calls, []);
  assert.equal(await session.close(), []);
  rmSync(root, { recursive: true, force: true });
});

test("a device that cannot be read is reported once, and the module still removed", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const calls: string[] = [];
  const warnings: string[] = [];
  const plan = planOf("track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us")
    .trackers[0];
  // A directory opens, but read(2) fails with EISDIR.
  const host = { ...fakeHost(root, calls), devicePath: () => root };
  const session = new KmodSession({ hit() {}, warning: (w) => warnings.push(w) }, {}, host);
  await session.add(plan);
  await new Promise((resolve) => setTimeout(resolve, 120));
  const [summary] = await session.close();
  assert.equal(calls, ["build", "insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^reading lt_wakeup's hits failed: EISDIR/);
  assert.is(summary.pairs, 7);
  rmSync(root, { recursive: true, force: true });
});

test("a module built once is inserted from the cache next time; other sources build again", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const cache = { dir: join(root, "cache"), headers: "6.1.0-test .config:1" };
  const calls: string[] = [];
  const notices: string[] = [];
  const runOnce = async (text: string) => {
    const noting = { ...listener, notice: (m: string) => notices.push(m) };
    const session = new KmodSession(noting, {}, fakeHost(root, calls, [], cache));
    await session.add(planOf(text).trackers[0]);
    await session.close();
    return inserted[inserted.length - 1];
  };
  const wakeup = "track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us";
  const first = await runOnce(wakeup);
  const [entry] = readdirSync(cache.dir);
  utimesSync(join(cache.dir, entry), new Date(0), new Date(0));
  const second = await runOnce(wakeup);
  // Used now: the pruning (least recently used first) keeps it.
  assert.ok(
    statSync(join(cache.dir, entry)).mtimeMs > Date.now() - 60_000,
    "cache hit not touched",
  );
  mkdirSync(join(cache.dir, "0123.999999999.tmp"));
  mkdirSync(join(cache.dir, `4567.${process.pid}.tmp`));
  await runOnce(wakeup.replace("200us", "300us"));
  assert.equal(calls, [
    ...["build", "insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"],
    ...["insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"],
    ...["build", "insmod lt_wakeup", "stop lt_wakeup", "rmmod lt_wakeup"],
  ]);
  // A user waiting on a build is told so; a cache hit says nothing.
  assert.equal(notices, [
    "building lt_wakeup (once: kept for the next runs)…",
    "building lt_wakeup (once: kept for the next runs)…",
  ]);
  assert.ok(first.startsWith(tmpdir()), "first insert is from the build directory");
  assert.ok(second.startsWith(cache.dir), "second insert is from the cache");
  assert.match(readFileSync(second, "utf8"), /^built from /);
  // The dead session's half-stored entry is gone, a live one's kept.
  assert.equal(
    readdirSync(cache.dir).filter((f) => f.endsWith(".tmp")),
    [`4567.${process.pid}.tmp`],
  );
  assert.is(readdirSync(cache.dir).length, 3);
  rmSync(root, { recursive: true, force: true });
});

test("hits coming faster than they are handled leave timers (--for) their turn", async () => {
  const root = mkdtempSync(join(tmpdir(), "ltsh-kmod-session-test-"));
  const plan = planOf("track wakeup: sched_wakeup(args.pid) -> sched_switch(next_pid) > 200us");
  // The device is a FIFO (poll(2) works on it) that dd fills one whole record per write, far
  // faster than a listener spending 1 ms per hit can take them; stopped after 10 s at most.
  const fifo = join(root, "device");
  assert.is(spawnSync("mkfifo", [fifo]).status, 0);
  const host = { ...fakeHost(root, []), devicePath: () => fifo };
  let handled = 0;
  const busy = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const session = new KmodSession(
    {
      hit() {
        handled++;
        busy(1);
      },
      warning() {},
    },
    {},
    host,
  );
  await session.add(plan.trackers[0]);
  // a hit and its captures record
  const record = readFileSync(join(root, "lt_wakeup.dev")).subarray(0, 2 * HIT_RECORD_SIZE);
  writeFileSync(join(root, "records"), Buffer.concat(Array(4096).fill(record)));
  const feed = `while :; do cat records; done | dd bs=${HIT_RECORD_SIZE} iflag=fullblock of=device`;
  const producer = spawn("timeout", ["10", "sh", "-c", feed], { cwd: root, stdio: "ignore" });
  const asked = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const late = Date.now() - asked - 1000;
  if (producer.exitCode === null && producer.signalCode === null) {
    const exited = new Promise((resolve) => producer.once("exit", resolve));
    producer.kill();
    await exited;
  }
  await session.close();
  rmSync(root, { recursive: true, force: true });
  assert.ok(handled > 100, `${handled} hits handled`);
  // One read of at most 256 records between timers: 0.3 s late or so; unbounded reads kept
  // the timer waiting until dd stopped.
  assert.ok(late < 3000, `a 1 s timer fired ${late} ms late`);
});

test("build directories of dead sessions are removed, live ones kept", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-kmod-stale-test-"));
  mkdirSync(join(dir, "ltsh-999999999-kmod-abc"));
  mkdirSync(join(dir, `ltsh-${process.pid}-kmod-def`));
  mkdirSync(join(dir, "unrelated"));
  removeStaleBuildDirs(dir);
  assert.equal(readdirSync(dir).sort(), [`ltsh-${process.pid}-kmod-def`, "unrelated"]);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
