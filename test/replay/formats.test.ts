// Line formats (tracefs with and without tgid/flags columns, trace-cmd report, perf script,
// babeltrace2), detection, and field values from the events' printed text.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { TraceEvent } from "../../src/replay/event.ts";
import { intFromText } from "../../src/replay/expr.ts";
import { eventFields } from "../../src/replay/fields.ts";
import {
  detectFormat,
  parseBabeltraceLine,
  parseFtraceLine,
  parsePerfLine,
} from "../../src/replay/formats.ts";

function event(result: ReturnType<typeof parseFtraceLine>): TraceEvent {
  if (result === null || typeof result === "string") throw new Error(`not an event: ${result}`);
  return result;
}

/** The named fields an event has (absent ones left out). */
function pickFields(e: TraceEvent, ...names: string[]): Record<string, string> {
  const fields = eventFields(e)!;
  const found = names.map((n) => [n, fields.get(n)]).filter(([, v]) => v !== undefined);
  return Object.fromEntries(found);
}

const pick = (e: TraceEvent) => [e.comm, e.tid, e.pid, e.cpu, e.sec, e.nsec, e.category, e.name];

test("tracefs lines: tgid column, flags column, comms with spaces and dashes", () => {
  const withTgid =
    "   http-workload-20110   (  20065) [000] .....   801.514206: sys_accept4 -> 0x5";
  assert.equal(pick(event(parseFtraceLine(withTgid, 1))), [
    "http-workload",
    20110,
    20065,
    0,
    801,
    514206000,
    "syscalls",
    "sys_exit_accept4",
  ]);
  const noTgid =
    "  Web Content-1234    [001] d..2.   12.000001: sched_wakeup: comm=x pid=1 prio=120 target_cpu=001";
  assert.equal(pick(event(parseFtraceLine(noTgid, 1))), [
    "Web Content",
    1234,
    -1,
    1,
    12,
    1000,
    "",
    "sched_wakeup",
  ]);
  const unknownTgid =
    "  kworker/u8:1-ev-77  (-------) [001] ....  3.5: irq_handler_entry: irq=1 name=x";
  assert.equal(pick(event(parseFtraceLine(unknownTgid, 1))), [
    "kworker/u8:1-ev",
    77,
    -1,
    1,
    3,
    500000000,
    "",
    "irq_handler_entry",
  ]);
  const traceCmd =
    "            bash-4321  [002]  1234.567890123: sched_switch: prev_comm=bash prev_pid=4321";
  const e = event(parseFtraceLine(traceCmd, 1));
  assert.equal(pick(e), ["bash", 4321, -1, 2, 1234, 567890123, "", "sched_switch"]);
  assert.is(e.payload, "prev_comm=bash prev_pid=4321");
});

test("tracefs headers and trace-cmd preambles are not events; garbage is malformed", () => {
  for (const line of [
    "# tracer: nop",
    "",
    "cpus=2",
    "CPU 1 is empty",
    "##### CPU 0 buffer started ####",
  ]) {
    assert.is(parseFtraceLine(line, 1), null, line);
  }
  assert.type(parseFtraceLine("hello world", 1), "string");
  assert.type(parseFtraceLine("bash-1 [000] 1.0", 1), "string");
});

test("the syscall tracer's own shapes become sys_enter_*/sys_exit_* with their fields", () => {
  const enter = event(
    parseFtraceLine("a-1 [000] .... 1.000001: sys_write(fd: 6, buf: 0x7ffd, count: 0xed)", 1),
  );
  assert.is(enter.name, "sys_enter_write");
  assert.equal(pickFields(enter, "fd", "buf", "count"), { fd: "6", buf: "0x7ffd", count: "0xed" });
  const exit = event(
    parseFtraceLine("a-1 [000] .... 1.000002: sys_accept4 -> 0xfffffffffffffff5", 1),
  );
  assert.equal(pickFields(exit, "ret"), { ret: "0xfffffffffffffff5" });
  assert.is(intFromText("0xfffffffffffffff5", { size: 8, signed: true }), -11);
  const printFmt = event(
    parseFtraceLine(
      "a-1 [000] .... 1.0: sys_enter_write: fd: 0x00000001, buf: 0x00007ffd, count: 0x00000002",
      1,
    ),
  );
  assert.is(intFromText(eventFields(printFmt)!.get("fd")!, { size: 8, signed: false }), 1);
});

test("special print formats: sched_switch, raw_syscalls, block, irq ret, netif dev", () => {
  const ALL = ["prev_comm", "prev_state", "next_pid", "id", "ret", "dev", "rwbs", "cmd", "sector"];
  const MORE = ["nr_sector", "bytes", "comm", "error", "name", "location", "reason"];
  const fields = (line: string) => pickFields(event(parseFtraceLine(line, 1)), ...ALL, ...MORE);
  const sw = fields(
    "a-1 [000] d..2. 1.0: sched_switch: prev_comm=Web Content prev_pid=5 prev_prio=120 prev_state=D|K ==> next_comm=b next_pid=6 next_prio=120",
  );
  assert.is(sw.prev_comm, "Web Content");
  assert.is(sw.prev_state, "2");
  assert.is(sw.next_pid, "6");
  assert.is(
    fields(
      "a-1 [000] d..2. 1.0: sched_switch: prev_comm=a prev_pid=5 prev_prio=120 prev_state=R+ ==> next_comm=b next_pid=6 next_prio=120",
    ).prev_state,
    "256",
  );
  assert.equal(fields("a-1 [000] .... 1.0: sys_enter: NR 1 (1, 55d0, 2, 0, 0, 0)"), { id: "1" });
  assert.equal(fields("a-1 [000] .... 1.0: sys_exit: NR 1 = -11"), { id: "1", ret: "-11" });
  const issue = fields(
    "a-1 [000] .... 1.0: block_rq_issue: 8,16 WS 4096 () 123456 + 8 none,0,0 [dd]",
  );
  assert.equal(issue, {
    dev: String((8 << 20) | 16),
    rwbs: "WS",
    cmd: "",
    sector: "123456",
    nr_sector: "8",
    bytes: "4096",
    comm: "dd",
  });
  const complete = fields(
    "a-1 [000] .... 1.0: block_rq_complete: 8,16 WS () 123456 + 8 none,0,0 [0]",
  );
  assert.is(complete.error, "0");
  assert.is(complete.sector, "123456");
  assert.is(fields("a-1 [000] .... 1.0: irq_handler_exit: irq=36 ret=handled").ret, "1");
  assert.is(
    fields("a-1 [000] .... 1.0: netif_receive_skb: dev=lo skbaddr=ffff888102b70ae0 len=60").name,
    "lo",
  );
  const kfree = fields(
    "a-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881 rx_sk=0000000000000000 protocol=2048 location=x+0x57/0xf0 reason: QUEUE_PURGE",
  );
  assert.is(kfree.location, "x+0x57/0xf0");
  assert.is(kfree.reason, "QUEUE_PURGE");
  assert.is(intFromText("ffff888102b70ae0", { size: 8, signed: false }, true), 0xffff888102b70ae0n);
});

test("perf script lines, with tid or pid/tid, µs or ns", () => {
  const line =
    "            perf 20885 [000]   809.902585: sched:sched_wakeup: comm=migration/0 pid=18 prio=0 target_cpu=000";
  assert.equal(pick(event(parsePerfLine(line, 1))), [
    "perf",
    20885,
    -1,
    0,
    809,
    902585000,
    "sched",
    "sched_wakeup",
  ]);
  const pidTid = "  Web Content  10/12 [001]   809.902585123: sched:sched_switch: prev_comm=x";
  assert.equal(pick(event(parsePerfLine(pidTid, 1))), [
    "Web Content",
    12,
    10,
    1,
    809,
    902585123,
    "sched",
    "sched_switch",
  ]);
});

test("babeltrace2 lines: time of day or seconds, contexts, LTTng names", () => {
  const perfCtf =
    '[00:13:29.902585122] (+?.?????????) sched:sched_wakeup: { cpu_id = 0 }, { perf_tid = 20885, perf_pid = 20885, comm = "migration/0", pid = 18, prio = 0, target_cpu = 0 }';
  const e = event(parseBabeltraceLine(perfCtf, 1));
  assert.equal(pick(e), ["", 20885, 20885, 0, 809, 902585122, "sched", "sched_wakeup"]);
  assert.is(eventFields(e)!.get("comm"), "migration/0");
  const lttng =
    '[1234.000000001] (+0.000000001) host sched_switch: { cpu_id = 1 }, { procname = "bash", vtid = 5, vpid = 4 }, { prev_comm = "a, b", prev_tid = 5, prev_state = 1, next_comm = "c", next_tid = 6 }';
  const l = event(parseBabeltraceLine(lttng, 1));
  assert.equal(pick(l), ["bash", 5, 4, 1, 1234, 1, "", "sched_switch"]);
  const f = eventFields(l)!;
  assert.is(f.get("prev_comm"), "a, b");
  assert.is(f.get("next_pid"), "6", "LTTng's next_tid is the kernel's next_pid");
  const syscall = event(
    parseBabeltraceLine("[1.5] (+0.1) syscall_exit_accept4: { cpu_id = 0 }, { ret = 5 }", 1),
  );
  assert.equal([syscall.category, syscall.name], ["syscalls", "sys_exit_accept4"]);
});

test("detection picks the format most lines match, null for foreign text", () => {
  assert.is(detectFormat(["bash-1 [000] .... 1.000001: sched_wakeup: pid=1"]), "ftrace");
  assert.is(detectFormat(["bash 1 [000] 1.000001: sched:sched_wakeup: pid=1"]), "perf");
  assert.is(detectFormat(["[1.5] (+0.1) sched_wakeup: { cpu_id = 0 }, { tid = 1 }"]), "babeltrace");
  assert.is(detectFormat(["<html>", "<body>"]), null);
});

test.run();
