// `ltsh record`'s numeric irq_handler_exit ret (src/commands/record-irq-return.ts): the
// plain text and the `fields` rendering of one buffer in, the plain text out with the
// numbers in place of handled/unhandled, every other byte as it was; and a replay of the
// result follows the threaded IRQ that the plain text hides (grammar/README.md "IRQ tail").

import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type IrqReturn,
  IrqReturnWriter,
  irqReturnsOfFieldsText,
} from "../../src/commands/record-irq-return.ts";
import { formatHitLine } from "../../src/records/output.ts";
import { compileTrackers, runLines } from "../replay/support.ts";

/** threaded-irq.txt: IRQ 30 returns IRQ_WAKE_THREAD (ret=2), its thread wakes worker-400. */
const recorded = readFileSync(
  new URL("../fixtures/traces/chains/threaded-irq.txt", import.meta.url),
  "latin1",
)
  .split("\n")
  .filter((line) => line !== "" && !line.startsWith("#"));

// Before it, a spurious IRQ 31 (IRQ_NONE) interrupts a task whose comm is not UTF-8.
const spurious = [
  "   \xffwork-77 (     77) [001] d.h1.   299.999990: irq_handler_entry: irq=31 name=x",
  "   \xffwork-77 (     77) [001] d.h1.   299.999991: irq_handler_exit: irq=31 ret=0",
];
/** The trace as `ltsh record` writes it: ret as a number. */
const withNumbers = `${[...spurious, ...recorded].join("\n")}\n`;
/** The same buffer read as plain text: the event's print format says handled or unhandled. */
const plain = withNumbers
  .replace("irq=31 ret=0", "irq=31 ret=unhandled")
  .replace("irq=30 ret=2", "irq=30 ret=handled");
/** ... and read with the instance's `fields` option on (6.18's rendering). */
const fields = withNumbers
  .replace("irq=31 ret=0", "irq=0x1f (31) ret=0x0 (0)")
  .replace("irq=30 ret=2", "irq=0x1e (30) ret=0x2 (2)")
  .replace("pid=300 prio=120", "pid=0x12c (300) prio=0x78 (120)");

/** `text` as latin1 chunks of `size` bytes: lines split anywhere. */
const chunks = (text: string, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
      Buffer.from(text.slice(i * size, (i + 1) * size), "latin1"),
    ),
  );

async function rewrite(text: string, returns: readonly IrqReturn[]) {
  const writer = new IrqReturnWriter(returns);
  const out = await buffer(chunks(text, 7).pipe(writer));
  return { text: out.toString("latin1"), bytes: out, writer };
}

const NVME =
  'track nvme: irq_handler_entry where irq == 30 ~> sched_switch where next_comm == "worker" > 1us';

test("the fields rendering gives each irq_handler_exit's head and number, in order", async () => {
  const returns = await irqReturnsOfFieldsText(chunks(fields, 5));
  assert.equal(
    returns.map((r) => r.ret),
    [0, 2],
  );
  assert.is(
    returns[1].head,
    "         app-500 (    500) [000] d.h1.   300.000003: irq_handler_exit: ",
  );
});

test("the plain text gets the numbers, every other byte as it was", async () => {
  const returns = await irqReturnsOfFieldsText(chunks(fields, 5));
  const out = await rewrite(plain, returns);
  assert.equal(out.bytes, Buffer.from(withNumbers, "latin1"));
  assert.is(out.writer.mismatch, null);
});

test("replayed, the rewritten trace follows the IRQ to its thread; the plain one cannot", async () => {
  const returns = await irqReturnsOfFieldsText(chunks(fields, 5));
  const lines = (text: string) => text.split("\n").filter(Boolean);
  const numbered = await runLines(
    compileTrackers(NVME),
    lines((await rewrite(plain, returns)).text),
  );
  assert.equal(
    numbered.hits.map((h) => formatHitLine(h).replace(/^\S+ /, "")),
    [
      "nvme 100us irq30 app cpu0 +5us waking irq/30-nvme-300 +15us run cpu0 +20us waking worker-400 +60us run cpu1",
    ],
  );
  assert.equal(numbered.warnings, []);
  const worded = await runLines(compileTrackers(NVME), lines(plain));
  assert.is(worded.hits.length, 0);
  assert.equal(worded.warnings, [
    "1 IRQ handler exits ending a chain's IRQ scope print ret=handled, which is also what a threaded IRQ waking its thread (IRQ_WAKE_THREAD) prints: such a chain is not followed to the IRQ's thread (ltsh record writes the number)",
  ]);
});

test("readings that disagree: the lines from the first different head on stay as printed", async () => {
  const returns = await irqReturnsOfFieldsText(chunks(fields, 5));
  const shifted = returns.map((r, i) =>
    i === 1 ? { ...r, head: r.head.replace("[000]", "[001]") } : r,
  );
  const out = await rewrite(plain, shifted);
  assert.ok(out.text.includes("irq=31 ret=0\n"), "before it: numbered");
  assert.ok(out.text.includes("irq=30 ret=handled\n"), "from it on: as printed");
  assert.match(out.writer.mismatch ?? "", /300\.000003: irq_handler_exit: $/);
});

test.run();
