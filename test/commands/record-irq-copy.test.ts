// `ltsh record`'s IRQ_WAKE_THREAD on kernels without tracefs's `fields` option
// (src/commands/record-irq-copy.ts): the main buffer's text and the copy instance's
// (irq_handler_exit where ret == 2) in, each main exit line's number out, as IrqReturnWriter
// writes it; and a replay of the result follows the threaded IRQ.

import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type Losses,
  matchCopiedExits,
  returnsOfCopiedExits,
} from "../../src/commands/record-irq-copy.ts";
import { IrqReturnWriter } from "../../src/commands/record-irq-return.ts";
import { formatHitLine } from "../../src/records/output.ts";
import { compileTrackers, runLines } from "../replay/support.ts";

/** threaded-irq.txt: IRQ 30 returns IRQ_WAKE_THREAD (ret=2), its thread wakes worker-400. */
const fixture = readFileSync(
  new URL("../fixtures/traces/chains/threaded-irq.txt", import.meta.url),
  "latin1",
);
/** The fixture as the main buffer prints it (comments aside): tracefs's header, handled. */
const plain = fixture
  .split("\n")
  .filter((line) => !line.startsWith("# ") || line.startsWith("# tracer"))
  .join("\n")
  .replace("irq=30 ret=2", "irq=30 ret=handled");

const NONE = new Set<number>();
const noLoss: Losses = { main: NONE, copies: new Map() };

/** A copy line: irq_handler_exit on `cpu` at `time`, as the copy instance prints it. */
const copyLine = (cpu: number, time: string, irq: number) =>
  `         app-500 (    500) [00${cpu}] d.h1.   ${time}: irq_handler_exit: irq=${irq} ret=handled`;

const chunks = (text: string, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
      Buffer.from(text.slice(i * size, (i + 1) * size), "latin1"),
    ),
  );

/** The main text rewritten with the numbers the copies give (ret 2 and, if any, ret 0). */
async function rewrite(main: string, copies: string[], losses = noLoss, noneCopies: string[] = []) {
  const text = (lines: string[]) => chunks(`# tracer: nop\n${lines.join("\n")}\n`, 7);
  const exits = await matchCopiedExits(
    chunks(main, 11),
    [
      { ret: 2, chunks: text(copies) },
      { ret: 0, chunks: text(noneCopies) },
    ],
    losses,
  );
  const writer = new IrqReturnWriter(returnsOfCopiedExits(exits));
  const out = await buffer(chunks(main, 13).pipe(writer));
  assert.is(writer.mismatch, null);
  return out.toString("latin1");
}

/** The ret of each irq_handler_exit line, in order. */
const rets = (text: string) =>
  [...text.matchAll(/irq_handler_exit: irq=\d+ ret=(\S*)$/gm)].map((m) => m[1]);

const NVME =
  'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us';

test("the exit a copy follows gets ret=2, every other byte as it was; replayed, the chain reaches the thread", async () => {
  // The copy is printed 2 µs later than its exit, after the thread's waking (300.000005) would be.
  const out = await rewrite(plain, [copyLine(0, "300.000004", 30)]);
  assert.is(out, plain.replace("irq=30 ret=handled", "irq=30 ret=2"));
  const lines = out.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  const { hits, warnings } = await runLines(compileTrackers(NVME), lines);
  assert.equal(
    hits.map((h) => formatHitLine(h).replace(/^\S+ /, "")),
    [
      "nvme 100us irq30 app cpu0 +5us waking irq/30-nvme-300 +15us run cpu0 +20us waking worker-400 +60us run cpu1",
    ],
  );
  assert.equal(warnings, []);
});

test("a copy printed with the timestamp of the thread's waking still finds its exit", async () => {
  assert.equal(rets(await rewrite(plain, [copyLine(0, "300.000005", 30)])), ["2"]);
});

const main = [
  "# tracer: nop",
  "          <idle>-0 (      0) [000] d.h1.   10.000010: irq_handler_exit: irq=16 ret=handled",
  "          <idle>-0 (      0) [001] d.h1.   10.000011: irq_handler_exit: irq=16 ret=handled",
  "          <idle>-0 (      0) [000] d.h1.   10.000012: irq_handler_exit: irq=16 ret=unhandled",
  "          <idle>-0 (      0) [000] d.h2.   10.000014: sched_waking: comm=irq/16-x pid=90 prio=49 target_cpu=000",
  "          <idle>-0 (      0) [000] d.h1.   10.000050: irq_handler_exit: irq=17 ret=handled",
  "          <idle>-0 (      0) [000] d.h1.   10.000090: irq_handler_exit: irq=16 ret=handled",
  "",
].join("\n");

test("a copy is its CPU's and its irq's: other exits are ret=1, unhandled ret=0", async () => {
  assert.equal(rets(await rewrite(main, [copyLine(1, "10.000012", 16)])), [
    "1",
    "2",
    "0",
    "1",
    "1",
  ]);
  // The copy of the 10.000010 exit: the unhandled exit and the waking came after it.
  assert.equal(rets(await rewrite(main, [copyLine(0, "10.000011", 16)])), [
    "2",
    "1",
    "0",
    "1",
    "1",
  ]);
});

test("a copy whose place is after a line that is not its exit matches nothing", async () => {
  // After the waking (10.000014), before irq 17's exit: its own exit was not recorded.
  assert.equal(rets(await rewrite(main, [copyLine(0, "10.000020", 16)])), [
    "1",
    "1",
    "0",
    "1",
    "1",
  ]);
});

test("two handled exits of one irq printed in the same µs as a copy: both stay as printed", async () => {
  // Two actions of a shared IRQ line: which one woke its thread cannot be told.
  const shared = main.replace(
    "10.000050: irq_handler_exit: irq=17",
    "10.000090: irq_handler_exit: irq=16",
  );
  assert.equal(rets(await rewrite(shared, [copyLine(0, "10.000090", 16)])), [
    "1",
    "1",
    "0",
    "handled",
    "handled",
  ]);
});

test("lost events: what a full buffer cannot speak for stays as printed", async () => {
  // The copy buffer filled on CPU 0 after its copy at 10.000011: later exits there unknown.
  const copyFull: Losses = { main: NONE, copies: new Map([[2, new Set([0])]]) };
  assert.equal(rets(await rewrite(main, [copyLine(0, "10.000011", 16)], copyFull)), [
    "2",
    "1",
    "0",
    "handled",
    "handled",
  ]);
  // The main buffer filled on CPU 0: a copy after its last line may be a lost exit's.
  const mainFull: Losses = { main: new Set([0]), copies: new Map() };
  assert.equal(rets(await rewrite(main, [copyLine(0, "10.000095", 16)], mainFull)), [
    "1",
    "1",
    "0",
    "1",
    "handled",
  ]);
  assert.equal(rets(await rewrite(main, [copyLine(0, "10.000095", 16)], noLoss)), [
    "1",
    "1",
    "0",
    "1",
    "2",
  ]);
});

test("where the kernel prints no word (`ret=`), the copies of 0 and 2 tell all three", async () => {
  const bare = main.replace(/ret=(handled|unhandled)$/gm, "ret=");
  const copies = [copyLine(0, "10.000011", 16)];
  const none = [copyLine(0, "10.000013", 16)];
  assert.equal(rets(await rewrite(bare, copies, noLoss, none)), ["2", "1", "0", "1", "1"]);
  // The copy of IRQ_NONE's buffer filled before its CPU's last exits: those stay bare.
  const noneFull: Losses = { main: NONE, copies: new Map([[0, new Set([0])]]) };
  assert.equal(rets(await rewrite(bare, copies, noneFull, none)), ["2", "1", "0", "", ""]);
});

test.run();
