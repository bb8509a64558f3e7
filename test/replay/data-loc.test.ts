// Replay of variable-length string fields (`__data_loc char[]`) on hand-written lines: an
// IRQ handler's name, a received packet's device (printed `dev=`, the field `name`). Each
// is read as the live backends read it, by its first 63 bytes.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatHitLine } from "../../src/records/output.ts";
import { compileTrackers, ftrace, runLines } from "./support.ts";

const LONG = `${"a-handler-name-".repeat(5)}end`; // 78 bytes
const entry = (ts: string, irq: number, name: string) =>
  ftrace(ts, 0, "app-500", "irq_handler_entry", `irq=${irq} name=${name}`);
const exit = (ts: string, irq: number) =>
  ftrace(ts, 0, "app-500", "irq_handler_exit", `irq=${irq} ret=handled`);
const IRQS = [
  entry("10.000000", 24, "eth0"),
  exit("10.000010", 24),
  entry("10.000100", 30, "nvme0q1"),
  exit("10.000130", 30),
  entry("10.000200", 31, LONG),
  exit("10.000240", 31),
  entry("10.000300", 25, "eth0-tx"),
  exit("10.000320", 25),
];

test("an IRQ handler's name filters (== and !=) and prints", async () => {
  const trackers = compileTrackers(`
track eth: irq_handler_entry(irq) where name == "eth0" -> irq_handler_exit(irq) > 1ns then print(name)
track rest: irq_handler_entry(irq) where name != "eth0" -> irq_handler_exit(irq) > 1ns then print(name)
`);
  const { hits, warnings } = await runLines(trackers, IRQS);
  assert.equal(warnings, []);
  const shown = (tracker: string) =>
    hits.filter((h) => h.tracker === tracker).map((h) => `${h.key[0]} ${h.fields?.name}`);
  assert.equal(shown("eth"), ["24 eth0"]);
  assert.equal(shown("rest"), ["30 nvme0q1", `31 ${LONG.slice(0, 63)}`, "25 eth0-tx"]);
  const line = formatHitLine(hits.find((h) => h.key[0] === 30n)!);
  assert.ok(line.endsWith(` name="nvme0q1"`), line);
});

test("a name longer than 63 bytes is its first 63: a 63-byte literal matches it", async () => {
  const trackers = compileTrackers(`
track first63: irq_handler_entry(irq) where name == "${LONG.slice(0, 63)}" -> irq_handler_exit(irq) > 1ns
track first62: irq_handler_entry(irq) where name == "${LONG.slice(0, 62)}" -> irq_handler_exit(irq) > 1ns
`);
  const { summaries } = await runLines(trackers, IRQS);
  assert.equal(
    summaries.map((s) => `${s.tracker} ${s.pairs}`),
    ["first63 1", "first62 0"],
  );
});

test("netif_receive_skb's device, printed dev=, is its field name", async () => {
  const trackers = compileTrackers(`
track rx: netif_receive_skb(skbaddr) where name == "lo" -> consume_skb(skbaddr) > 1ns then print(name, len)
`);
  const skb = (ts: string, dev: string, addr: string) => [
    ftrace(ts, 1, "app-500", "netif_receive_skb", `dev=${dev} skbaddr=${addr} len=60`),
    ftrace(`${ts}5`, 1, "app-500", "consume_skb", `skbaddr=${addr} location=tcp_rcv+0x8/0x10`),
  ];
  const { hits } = await runLines(trackers, [
    ...skb("20.00001", "lo", "ffff888102b70ae0"),
    ...skb("20.00002", "eth0", "ffff888102b70b00"),
  ]);
  assert.equal(
    hits.map((h) => `${h.key[0].toString(16)} ${h.fields?.name} ${h.fields?.len}`),
    ["ffff888102b70ae0 lo 60"],
  );
});

test.run();
