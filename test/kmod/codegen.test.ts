// The kmod target's C: a small golden per tracker shape, the headers and tables it emits, its
// line widths, and the diagnostics for what a module cannot do (unsupported tracepoints and
// fields, keys too big, names too long, stack/snapshot).

import { readFileSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lineWidth } from "../../src/compiler/kmod/c-layout.ts";
import { generateModule, KmodDiagnosticsError } from "../../src/compiler/kmod/target.ts";
import { exampleSource } from "../corpus.ts";
import { planOf } from "./support.ts";

const GOLDEN = new URL("./golden/", import.meta.url);

/** The tracker-specific part of the module: from its comment to the probe table. */
function trackerSection(source: string): string {
  const start = source.indexOf("/*\n *\ttrack");
  return source.slice(start, source.indexOf("static struct lt_module_probe lt_probes[]"));
}

function golden(name: string, actual: string): void {
  const url = new URL(name, GOLDEN);
  if (process.env.UPDATE_GOLDEN) writeFileSync(url, actual);
  assert.fixture(actual, readFileSync(url, "utf8"));
}

function moduleC(text: string, file = "test.lt"): string {
  const module = generateModule(planOf(text, file));
  return module.files[`${module.model.name}_main.c`];
}

function refusal(text: string): KmodDiagnosticsError {
  try {
    generateModule(planOf(text));
  } catch (error) {
    if (error instanceof KmodDiagnosticsError) return error;
    throw error;
  }
  throw new Error("the kmod target accepted it");
}

test("a begin and end on two tracepoints, with a filter and a builtin in the key", () => {
  const c = moduleC(
    "track wake: sched_wakeup(pid, $cpu) where prio < 100 -> sched_switch(next_pid, $cpu) > 1ms",
  );
  golden("wake.c", trackerSection(c));
});

test("print fields: the begin's kept with the pending begin, the end's given at the end", () => {
  const c = moduleC(
    "track p: sched_wakeup(pid) -> sched_switch(next_pid) > 1us then print(prio, prev_state, next_comm)",
  );
  golden("print.c", trackerSection(c));
});

test("one tracepoint on both sides: the end is processed before the begin", () => {
  const c = moduleC(
    "track off: sched_switch(prev_pid) where prev_state != 0 -> sched_switch(next_pid)",
  );
  const body = c.slice(c.indexOf("static void lt_off_on_sched_switch"));
  assert.ok(body.indexOf("lt_event_out") < body.indexOf("lt_event_in"));
  assert.match(body, "if (lt_switch_state(preempt, prev_state, prev) != 0) {");
});

test("cancel: after the ends and before the begins on one tracepoint, every alternative", () => {
  const c = moduleC(
    "track wake: sched_wakeup(pid) -> sched_switch(next_pid) cancel sched_switch(prev_pid) where prev_state == 0 cancel sys_enter_exit_group($tid)",
  );
  golden("cancel.c", trackerSection(c));
  const body = c.slice(c.indexOf("static void lt_wake_on_sched_switch"));
  const out = body.indexOf("lt_event_out");
  const cancel = body.indexOf("lt_event_cancel");
  assert.ok(out >= 0 && out < cancel, "the end comes first");
  assert.match(body, "key.pid = prev->pid;");
  assert.match(c, "static void lt_wake_on_sys_enter");
  assert.match(c.slice(c.indexOf("lt_wake_on_sys_enter")), "lt_event_cancel");
});

test("one event, one context: an unconditional first block fills it for the others", () => {
  const switchBody = (text: string) => {
    const c = moduleC(text);
    return c.slice(
      c.indexOf("static void lt_t_on_sched_switch"),
      c.indexOf("static void lt_t_on_sched_wakeup"),
    );
  };
  const count = (body: string) => body.split("lt_ctx_fill(").length - 1;
  const shared = switchBody(
    "track t: { sched_switch(prev_pid) | sched_wakeup(pid) } -> { sched_waking(pid) | sched_switch(next_pid) }",
  );
  assert.is(count(shared), 1);
  assert.match(shared, "lt_ctx_fill(&ctx, 1);");
  const probeSet = shared.indexOf("ctx.probe = 0;");
  assert.ok(probeSet > shared.indexOf("lt_event_out") && probeSet < shared.indexOf("lt_event_in"));
  // A guarded first block may not run: every block fills its own.
  const guarded = switchBody(
    "track t: { sched_switch(prev_pid) where prev_state != 0 | sched_wakeup(pid) } -> { sched_waking(pid) | sched_switch(next_pid) where prev_state == 0 }",
  );
  assert.is(count(guarded), 2);
  assert.not.match(guarded, "ctx.probe =");
});

test("examples/wakeup.lt's module forgets a running task's wakeup at its switch-out", () => {
  const c = moduleC(exampleSource("wakeup.lt"), "wakeup.lt");
  const body = c.slice(c.indexOf("static void lt_wakeup_on_sched_switch"));
  const out = body.indexOf("lt_event_out");
  const cancel = body.indexOf("lt_event_cancel");
  assert.ok(out >= 0 && out < cancel, "the switch-in's end comes before the switch-out's cancel");
  assert.match(body, "key.pid = prev->pid;");
});

test("syscalls:* events become raw_syscalls probes filtered on the number", () => {
  const c = moduleC(
    "track t: sys_exit_accept4($pid, ret) where ret >= 0 -> { sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) }",
  );
  golden("syscalls.c", trackerSection(c));
});

test("module name, device and parameters follow the file name and tracker name", () => {
  const c = moduleC(
    "track net: netif_receive_skb(skbaddr) -> consume_skb(skbaddr) > 1us",
    "dir/my-net.lt",
  );
  assert.match(c, "lt_my_net: latency trackers generated by ltsh from my-net.lt");
  assert.match(c, "/dev/ltsh_lt_my_net");
  assert.match(c, "LT_TRACKER_PARAMS(net, lt_net_tracker);");
  assert.match(c, ".threshold_ns = 1000,");
});

test("the generated file holds only the trackers; lt_module.c, linked by Kbuild, the rest", () => {
  const module = generateModule(
    planOf("track net: netif_receive_skb(skbaddr) -> consume_skb(skbaddr) > 1us", "net.lt"),
  );
  const c = module.files["lt_net_main.c"];
  const tables = c.slice(c.indexOf("static struct lt_module_probe lt_probes[]"));
  assert.fixture(
    tables,
    [
      "static struct lt_module_probe lt_probes[] = {",
      "\tLT_PROBE(netif_receive_skb, lt_net_on_netif_receive_skb),",
      "\tLT_PROBE(consume_skb, lt_net_on_consume_skb),",
      "};",
      "",
      "static struct lt_module_tracker *lt_trackers[] = {",
      "\t&lt_net_tracker,",
      "};",
      "",
      "LT_MODULE(lt_trackers, lt_probes);",
      "",
    ].join("\n"),
  );
  for (const glue of ["module_init", "MODULE_LICENSE", "tracepoint_probe_register", "@MOD@"]) {
    assert.not.match(c, glue);
  }
  assert.match(
    module.files.Kbuild,
    "lt_net-y := lt_net_main.o lt_module.o lt_uprobe.o $(LT_RUNTIME_OBJS)",
  );
});

/** The #include lines of a generated module. */
function includes(text: string): string[] {
  return moduleC(text)
    .split("\n")
    .filter((l) => l.startsWith("#include"));
}

test("headers come from the tracepoint table and the builtins used, nothing else", () => {
  const base = ["<linux/module.h>", "<linux/sched.h>", "<linux/string.h>"];
  const sched = includes("track w: sched_wakeup(pid) -> sched_switch(next_pid)");
  assert.equal(sched, [...base.map((h) => `#include ${h}`), '#include "lt_module.h"']);
  const irq = includes("track i: irq_handler_entry(irq, $uid) -> irq_handler_exit(irq, $uid)");
  assert.ok(irq.includes("#include <linux/interrupt.h>"), irq.join("\n"));
  assert.ok(irq.includes("#include <linux/cred.h>"), "the uid builtin's header");
  assert.not.ok(irq.includes("#include <linux/skbuff.h>"));
  // A probe name that looks like another family's changes nothing: the table decides.
  const syscalls = includes("track s: sys_enter_read($pid) -> sys_exit_read($pid)");
  assert.ok(syscalls.includes("#include <asm/syscall.h>"));
  assert.ok(syscalls.includes("#include <linux/compat.h>"));
  assert.not.ok(syscalls.includes("#include <linux/blkdev.h>"));
});

test("lines stay within 100 columns, long conditions broken after top-level && and ||", () => {
  const c = moduleC(
    `track a_tracker_with_a_rather_long_name_that_goes_on_and_on_and_on:
       sched_wakeup(comm, $uid) where comm == "ltwork" && prio < 100 || comm == "somethingelse" && prio > 5
       -> sched_switch(next_comm, $uid) where next_comm != "x" && next_prio < 120 || next_pid == 1
     track t2: sys_enter_write($pid, fd) where fd == 1 && count > 100 || fd == 2 && count > 1000 || fd == 3
       -> sys_exit_write($pid, ret) where ret > 0`,
    "a-file-name-that-is-long-too-so-the-header-comment-wraps-as-well.lt",
  );
  const long = c.split("\n").filter((l) => lineWidth(l) > 100);
  assert.equal(long, []);
  assert.match(
    c,
    [
      '\tif ((strncmp(p->comm, "ltwork", 7) == 0 && p->prio < 100) ||',
      '\t    (strncmp(p->comm, "somethingelse", 14) == 0 && p->prio > 5)) {',
    ].join("\n"),
  );
  assert.match(c, "struct lt_a_tracker_with_a_rather_long_nam_key {");
  assert.match(c, "LT_TRACKER_PARAMS(a_tracker_with_a_rather_long_nam,");
});

test("an unsupported tracepoint is a diagnostic at the probe that lists the supported ones", () => {
  const error = refusal("track e: sched_process_exec(pid) -> sched_process_exit(pid)");
  const d = error.diagnostics.find((x) => x.code === "kmod-unsupported-tracepoint");
  assert.ok(d, "no kmod-unsupported-tracepoint diagnostic");
  assert.is(d.severity, "error");
  assert.match(d.message, "sched:sched_process_exec");
  assert.is(d.range.col, 10);
  assert.match(d.notes?.[0] ?? "", "supported: sched:sched_wakeup, sched:sched_switch");
  assert.match(d.notes?.[0] ?? "", "syscalls:sys_enter_*");
});

test("a field the table has no expression for is a diagnostic naming the fields it has", () => {
  const error = refusal("track i: kfree_skb(skbaddr) where rx_sk != 0 -> consume_skb(skbaddr)");
  const d = error.diagnostics[0];
  assert.is(d.code, "kmod-unsupported-field");
  assert.match(d.message, "field 'rx_sk' of skb:kfree_skb is not available to the kmod target");
  assert.is(d.range.col, 35);
});

test("tracker names the runtime would cut (over 63 characters) are refused", () => {
  const name = "n".repeat(64);
  const error = refusal(`track ${name}: sched_wakeup(pid) -> sched_switch(next_pid)`);
  assert.is(error.diagnostics[0].code, "kmod-name-length");
  assert.match(error.diagnostics[0].message, "up to 63 characters; nnn");
});

test("keys bigger than the runtime's 32 bytes are refused", () => {
  const error = refusal(
    "track k: sched_wakeup(comm, $comm, pid) -> sched_switch(next_comm, prev_comm, next_pid)",
  );
  assert.is(error.diagnostics[0].code, "kmod-key-size");
  assert.match(
    error.diagnostics[0].message,
    /the key of k is \d+ bytes; the kmod target needs 1 to 32/,
  );
});

test("a __data_loc string is read as the event wrote it: compared and copied up to its NUL", () => {
  const c = moduleC(
    'track i: irq_handler_entry(irq) where name == "eth0" -> irq_handler_exit(irq) then print(name)',
  );
  const name = '(action->name ? action->name : "(null)")';
  assert.match(c, `if (strncmp(${name}, "eth0", 5) == 0) {`);
  assert.match(
    c,
    `strscpy_pad(captured.name,\n\t\t\t    ${name},\n\t\t\t    sizeof(captured.name));`,
  );
  // a 63-byte literal: the first 63 bytes, as eBPF and replay read a longer name
  const long = moduleC(
    `track i: irq_handler_entry(irq) where name != "${"x".repeat(63)}" -> irq_handler_exit(irq)`,
  );
  assert.match(long, `"${"x".repeat(63)}", 63) != 0`);
});

test("a __data_loc string as a key is refused, with a filter suggested", () => {
  const error = refusal("track k: irq_handler_entry(name) -> irq_handler_entry(name)");
  const d = error.diagnostics[0];
  assert.is(d.code, "kmod-user-string-key");
  assert.match(d.message, "cannot key by 'name', a variable-length string");
  assert.is(
    d.notes?.[0],
    'filter on it instead (where name == "..."), or run it on the eBPF backend',
  );
  assert.is(d.range.col, 28);
});

test("stack: the tracker's config asks the runtime for the end's stack; no warning", () => {
  const withStack = generateModule(
    planOf("track i: irq_handler_entry(irq) -> irq_handler_exit(irq) then print, stack"),
  );
  assert.equal(withStack.diagnostics, []);
  assert.match(withStack.files["lt_test_main.c"] ?? "", /\t\t\.stack = true,\n/);
  const without = generateModule(
    planOf("track i: irq_handler_entry(irq) -> irq_handler_exit(irq) then print"),
  );
  assert.not.match(Object.values(without.files).join("\n"), /\.stack = /);
});

test.run();
