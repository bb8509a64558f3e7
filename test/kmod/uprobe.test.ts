// The kmod target's user-space probes: each USDT argument form as C over pt_regs and user
// memory, the consumer functions and the lt_uprobe table for the workload of
// test/fixtures/usdt/, str() in filters and refused in keys, chain steps on user-space
// probes, and the module building against Debian's headers with no warning,
// checkpatch-clean. The QEMU tests (test/vm/uprobes.ts, chain-uprobes.ts) run such modules
// on the workload.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lineWidth } from "../../src/compiler/kmod/c-layout.ts";
import {
  generateModule,
  KmodDiagnosticsError,
  writeModule,
} from "../../src/compiler/kmod/target.ts";
import { userSiteMapping } from "../../src/compiler/kmod/uprobe-fields.ts";
import type { ProbePlan, UserArgLocation } from "../../src/compiler/plan.ts";
import { x86Register } from "../../src/compiler/uprobe/x86-registers.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { checkpatchPath, kernelHeaders, planOf } from "./support.ts";

const reg = (name: string) => x86Register(name)!.ptRegsOffset;
const memory = (
  base: string | null,
  index: string | null,
  scale: 1 | 2 | 4 | 8,
  displacement: number,
  relocated = false,
): UserArgLocation => ({
  kind: "memory",
  base: base === null ? null : reg(base),
  index: index === null ? null : reg(index),
  scale,
  displacement: `${displacement}`,
  relocated,
});

/** A USDT probe at link-time address 0x1000 with the given (size, signed, location) arguments. */
function usdtProbe(args: [1 | 2 | 4 | 8, boolean, UserArgLocation][]): ProbePlan {
  const site = {
    address: 0x1000,
    fileOffset: 0x1000,
    refCtrOffset: 0,
    recorderEvent: "ltu_x",
    arguments: args.map(([size, signed, location]) => ({ text: "", size, signed, location })),
  };
  return {
    id: "usdt:/bin/x:p:x",
    category: "usdt",
    name: "x",
    eventId: -1,
    user: { kind: "usdt", path: "/bin/x", spec: "p:x", sites: [site] },
    fields: args.map(([size, signed], offset) => ({
      name: `arg${offset}`,
      cType: `${signed ? "s" : "u"}${size * 8}`,
      offset,
      size,
      signed,
      common: false,
    })),
  };
}

test("every USDT argument form reads as C over regs, memory through lt_user_read()", () => {
  const probe = usdtProbe([
    [4, false, { kind: "constant", value: "5" }],
    [8, true, { kind: "constant", value: "-1" }],
    [4, true, { kind: "register", ptRegsOffset: reg("eax"), bitOffset: 0 }],
    [1, false, { kind: "register", ptRegsOffset: reg("ah"), bitOffset: 8 }],
    [2, true, { kind: "register", ptRegsOffset: reg("r9w"), bitOffset: 0 }],
    [4, true, memory("rbp", null, 1, -20)],
    [8, false, memory("rax", "rbx", 8, 0)],
    [4, true, memory("rdx", "rcx", 4, 16)],
    [4, true, memory(null, "rcx", 4, 0x4010)],
    [4, true, memory(null, null, 1, 0x4028, true)],
    [8, false, memory(null, null, 1, 0x4c5000)],
  ]);
  const fields = userSiteMapping(probe, probe.user!.sites[0]).fields;
  assert.equal(
    probe.fields.map((f) => fields[f.name]),
    [
      "(u32)5",
      "(s64)-1",
      "(s32)regs->ax",
      "(u8)(regs->ax >> 8)",
      "(s16)regs->r9",
      "(s32)lt_user_read(regs->bp - 0x14, 4)",
      "(u64)lt_user_read(regs->ax + regs->bx * 8, 8)",
      "(s32)lt_user_read(regs->dx + regs->cx * 4 + 0x10, 4)",
      "(s32)lt_user_read(regs->cx * 4 + 0x4010, 4)",
      // link-time address + load bias: regs->ip + (0x4028 - 0x1000)
      "(s32)lt_user_read(regs->ip + 0x3028, 4)",
      "(u64)lt_user_read(0x4c5000UL, 8)",
    ],
  );
  assert.is(
    fields.arg6_str,
    "lt_user_string(lt_arg6_str, lt_user_read(regs->ax + regs->bx * 8, 8))",
  );
});

const skip = workloadSkipReason();
if (skip !== null) console.log(`  skip kmod/uprobe workload tests: ${skip}`);
const w = skip === null ? buildWorkload() : null;
const P = w?.pie ?? "";

/** Cut to 32 characters in C identifiers; with long symbols, function names are cut too. */
const LONG = "a_tracker_with_a_name_long_enough_to_be_cut";

function program(): string {
  return `track ret: uprobe:${P}:lt_add($tid) where arg1 == 100 -> uretprobe:${P}:lt_add($tid) where retval == 105
track guarded: usdt:${P}:guarded(arg0) -> usdt:${P}:tick(arg0)
track greet: uprobe:${P}:lt_greet($tid) where str(arg0) == "ltsh" -> uretprobe:${P}:lt_greet($tid)
track mixed: usdt:${P}:work__begin($pid) -> sys_exit_getppid($pid) > 1us
track ${LONG}: { uprobe:libc:__file_change_detection_for_path($tid)
    | uprobe:libc:__file_change_detection_for_stat($tid) }
    -> uretprobe:libc:__file_change_detection_for_path($tid)
track cookie: usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0) ~> sys_enter_write > 1ns
track call: uprobe:${P}:lt_add where arg1 == 100 ~> uretprobe:${P}:lt_add where retval > 100
    > 1ns cancel uprobe:${P}:lt_greet where str(arg0) == "ltsh"
`;
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

if (w) {
  const plan = planOf(program(), "uprobes.lt");
  const module = generateModule(plan);
  const source = module.files["lt_uprobes_main.c"];
  const site = (tracker: number, side: "begins" | "ends") =>
    plan.trackers[tracker][side][0].probe.user!.sites;

  test("a consumer handler per entry site, ret_handler per return, registered by file offset", () => {
    const entry = site(0, "begins")[0].fileOffset.toString(16);
    assert.match(
      source,
      "static int lt_ret_on_uprobe_lt_add(struct uprobe_consumer *self,\n\t\t\t\t   struct pt_regs *regs)",
    );
    assert.match(source, "static int lt_ret_on_uretprobe_lt_add(struct uprobe_consumer *self,");
    assert.match(source, "unsigned long func, struct pt_regs *regs)");
    assert.match(source, "if ((u64)regs->si == 100) {");
    assert.match(source, "if ((u64)regs->ax == 105) {");
    assert.match(source, `LT_UPROBE("${P}", 0x${entry}, 0x0,`);
    assert.match(source, `LT_URETPROBE("${P}", 0x${entry},`);
    assert.match(source, "\treturn 0;\n}");
  });

  test("a guarded USDT probe passes its semaphore; a probe with two sites gets two consumers", () => {
    const guarded = site(1, "begins")[0];
    assert.ok(guarded.refCtrOffset > 0);
    assert.match(
      source,
      `0x${guarded.fileOffset.toString(16)}, 0x${guarded.refCtrOffset.toString(16)}`,
    );
    const ticks = site(1, "ends");
    assert.is(ticks.length, 2);
    assert.match(source, "lt_guarded_on_usdt_tick_0");
    assert.match(source, "lt_guarded_on_usdt_tick_1");
  });

  test("str() in a filter reads into a local buffer; tracepoints and user probes in one module", () => {
    assert.match(source, "\tchar lt_arg0_str[LT_USER_STRING_SIZE];\n");
    assert.match(source, 'strncmp(lt_user_string(lt_arg0_str, regs->di), "ltsh", 5) == 0');
    assert.match(source, '#include "lt_uprobe.h"');
    assert.match(source, "LT_MODULE_MIXED(lt_trackers, lt_probes, lt_uprobes);");
    const only = generateModule(
      planOf(`track uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid)`),
    );
    assert.match(Object.values(only.files)[0], "LT_MODULE_UPROBES(lt_trackers, lt_uprobes);");
  });

  test("probes of one location share one consumer: its ends run before its begins", () => {
    const text = `track same: uprobe:${P}:lt_add($tid) -> uprobe:${P}:lt_add+0($tid)`;
    const c = Object.values(generateModule(planOf(text)).files)[0];
    assert.is(c.match(/LT_UPROBE\(/g)?.length, 1);
    const body = c.slice(c.indexOf("lt_same_on_uprobe_lt_add("));
    assert.ok(body.indexOf("lt_event_out(") < body.indexOf("lt_event_in("));
  });

  test("long tracker and symbol names: distinct functions, lines within 100 columns", () => {
    const heads = [...source.matchAll(/^static int (lt_a_tracker\w+)\(/gm)].map((m) => m[1]);
    assert.is(new Set(heads).size, 3, heads.join(" "));
    const long = source.split("\n").filter((l) => lineWidth(l) > 100);
    assert.equal(long, []);
  });

  test("a chain's user-space steps are consumers that describe an event of their task", () => {
    const body = (name: string) => {
      const from = source.indexOf(`${name}(struct uprobe_consumer *self,`);
      return source.slice(from, source.indexOf("\n}\n", from));
    };
    const begin = body("lt_cookie_on_usdt_work__begin");
    assert.match(begin, "struct lt_chain_event ev = { .kind = LT_CHAIN_EV_OTHER };");
    // the origin's key (arg0: the cookie, in %rax at this site) for the `->` hand-off
    assert.match(begin, "\tev.steps |= BIT(0);\n\tkey0 = (struct lt_cookie_key0 *)ev.keys[0];");
    assert.match(begin, "lt_chain_event(lt_cookie_tracker.chain, &ev);\n\n\treturn 0;");
    assert.match(body("lt_cookie_on_usdt_work__end"), "key1->k0 = ");
    const ret = body("lt_call_on_uretprobe_lt_add");
    assert.match(ret, "unsigned long func, struct pt_regs *regs)");
    assert.match(ret, "if ((u64)regs->ax > 100)\n\t\tev.steps |= BIT(1);");
    const cancel = body("lt_call_on_uprobe_lt_greet");
    assert.match(cancel, "\tchar lt_arg0_str[LT_USER_STRING_SIZE];\n");
    assert.match(cancel, "\t\tev.cancel = true;");
    const entry = plan.trackers[6].chain!.steps[0].side.probe.user!.sites[0].fileOffset;
    assert.match(
      source,
      `LT_UPROBE("${P}", 0x${entry.toString(16)}, 0x0,\n\t\t  lt_call_on_uprobe_lt_add)`,
    );
    assert.match(source, `LT_URETPROBE("${P}", 0x${entry.toString(16)},`);
  });

  test("str() as a key is refused at the str(), saying why", () => {
    const text = `track uprobe:${P}:lt_greet(str(arg0)) -> uprobe:${P}:lt_add(str(arg0))`;
    const error = refusal(text);
    const d = error.diagnostics.find((x) => x.code === "kmod-user-string-key");
    assert.ok(d, error.diagnostics.map((x) => x.message).join("; "));
    assert.is(d.range.col, text.indexOf("str(") + 1);
    assert.match(d.message, "a kernel-module key holds at most 32");
  });

  const headers = kernelHeaders();
  const checkpatch = checkpatchPath();
  const dir = mkdtempSync(join(tmpdir(), `ltsh-${process.pid}-kmod-uprobe-`));
  writeModule(module, dir);
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  if (headers) {
    test(`the module builds against ${headers} with no warning`, () => {
      const make = spawnSync("make", ["-C", headers, `M=${dir}`, "modules"], {
        encoding: "utf8",
        timeout: 180_000,
      });
      const log = `${make.stdout}${make.stderr}`;
      assert.is(make.status, 0, log);
      assert.not.match(log, /warning:/i, log);
      assert.ok(readdirSync(dir).includes("lt_uprobes.ko"));
    });
  }
  if (checkpatch) {
    test("the generated C and lt_uprobe.c are checkpatch-clean", () => {
      const files = ["lt_uprobes_main.c", "lt_uprobe.c", "lt_uprobe.h", "lt_module.c"];
      const run = spawnSync(checkpatch, ["--no-tree", "-f", "--terse", ...files], {
        cwd: dir,
        encoding: "utf8",
      });
      assert.is(run.stdout, "");
    });
  }
}

test.run();
