// The kmod target's C: one module source over kmod-runtime/ for a ModuleModel. Written to
// read like a hand-written module (kernel style, tabs, checkpatch-clean), not like a dump.

import {
  cType,
  type ModuleModel,
  type ProbeFunction,
  type SideCode,
  type TrackerModel,
} from "./model.ts";
import { HELPERS } from "./tracepoints.ts";

const COLUMNS = 80;
/** Probe functions test it once at the top: 32-bit tasks number syscalls differently. */
const COMPAT = "!in_compat_syscall() && ";

/** `prefix(a, b, c)` wrapped at 80 columns, continuation lines aligned after the paren. */
function wrapCall(prefix: string, args: string[], suffix: string, indent = ""): string {
  const lines: string[] = [];
  let line = `${indent}${prefix}(`;
  const column = indent.length * 8 + prefix.length + 1;
  const align = "\t".repeat(Math.floor(column / 8)) + " ".repeat(column % 8);
  args.forEach((arg, i) => {
    const piece = i < args.length - 1 ? `${arg},` : `${arg})${suffix}`;
    const width = line.replace(/\t/g, "        ").length;
    if (i > 0 && width + 1 + piece.length > COLUMNS) {
      lines.push(line);
      line = `${align}${piece}`;
    } else {
      line += i > 0 ? ` ${piece}` : piece;
    }
  });
  lines.push(line);
  return lines.join("\n");
}

function sourceComment(t: TrackerModel): string[] {
  return t.plan.source
    .trim()
    .split("\n")
    .filter((l) => !l.trim().startsWith("#"))
    .map((l) => ` *\t${l.trim()}`.replace(/\s+$/, ""));
}

function includes(model: ModuleModel): string[] {
  const set = new Set(["linux/module.h", "linux/moduleparam.h", "linux/sched.h", "linux/string.h"]);
  set.add("linux/tracepoint.h");
  for (const t of model.trackers) {
    for (const p of t.probes) {
      const name = p.tracepoint.name;
      if (name.startsWith("irq_")) set.add("linux/interrupt.h");
      if (name.startsWith("sys_")) {
        set.add("linux/compat.h");
        set.add("asm/syscall.h");
      }
      if (name.startsWith("block_")) {
        set.add("linux/blkdev.h");
        set.add("linux/blktrace_api.h");
      }
      if (/skb/.test(name)) set.add("linux/skbuff.h");
      const texts = [...p.begins, ...p.ends].flatMap((s) => [...s.key, s.filter ?? ""]);
      if (texts.some((x) => x.includes("current_uid"))) set.add("linux/cred.h");
    }
  }
  if (model.helpers.includes("current_cgroup_id")) set.add("linux/cgroup.h");
  return [...set].sort().map((h) => `#include <${h}>`);
}

function paramsOf(p: ProbeFunction): string[] {
  return ["void *data", ...p.tracepoint.proto.split(/,\s*/)];
}

function assignKey(t: TrackerModel, code: SideCode, indent: string): string[] {
  return t.keyMembers.map((m, i) => {
    const value = code.key[i];
    if (m.type.kind === "string") {
      return value.startsWith('"')
        ? `${indent}strscpy_pad(key.${m.name}, ${value}, sizeof(key.${m.name}));`
        : `${indent}memcpy(key.${m.name}, ${value}, sizeof(key.${m.name}));`;
    }
    return `${indent}key.${m.name} = ${value};`;
  });
}

/** One alternative: its guard, the key, the context, the runtime call. */
function sideBlock(
  t: TrackerModel,
  code: SideCode,
  call: string[],
  guards: string[],
  compatHoisted: boolean,
): string[] {
  const conditions = [...guards];
  const condition = code.mapping.condition;
  if (condition) conditions.push(compatHoisted ? condition.replace(COMPAT, "") : condition);
  const argsFirst = code.usesArgs;
  if (code.filter && !argsFirst) conditions.push(parenthesize(code.filter, conditions.length > 0));
  const out: string[] = [];
  let indent = "\t";
  if (conditions.length > 0) {
    out.push(`\tif (${conditions.join(" && ")}) {`);
    indent = "\t\t";
  }
  const body: string[] = [];
  if (argsFirst) body.push("syscall_get_arguments(current, regs, args);");
  let inner = indent;
  if (code.filter && argsFirst) {
    body.push(`if (${code.filter}) {`);
    inner = `${indent}\t`;
  }
  out.push(...body.map((l) => `${indent}${l}`));
  out.push(...assignKey(t, code, inner));
  out.push(`${inner}lt_ctx_fill(&ctx, ${code.index});`);
  out.push(...call.map((l) => `${inner}${l}`));
  if (code.filter && argsFirst) out.push(`${indent}}`);
  if (conditions.length > 0) out.push("\t}");
  return out;
}

function parenthesize(text: string, needed: boolean): string {
  return needed && text.includes("||") ? `(${text})` : text;
}

function probeFunction(t: TrackerModel, p: ProbeFunction): string {
  const name = `${t.ident}_on_${p.tracepoint.name}`;
  const tracker = `${t.ident}_tracker.tracker`;
  const manyEnds = p.ends.length > 1;
  const pairedFlag = manyEnds && p.begins.length > 0;
  const locals = [`\tstruct ${t.ident}_key key;`, "\tstruct lt_ctx ctx;"];
  if ([...p.ends, ...p.begins].some((s) => s.usesArgs)) locals.push("\tunsigned long args[6];");
  if (pairedFlag) locals.push("\tbool paired = false;");
  const blocks: string[][] = [];
  const sides = [...p.ends, ...p.begins];
  const hoisted = sides.every((s) => s.mapping.condition?.startsWith(COMPAT));
  if (hoisted) {
    blocks.push(["\tif (in_compat_syscall())", "\t\treturn;"]);
  }
  p.ends.forEach((code, i) => {
    const last = i === p.ends.length - 1;
    const out = `lt_event_out(${tracker}, &key, &ctx)`;
    let call = [`${out};`];
    if (pairedFlag) call = [`paired = !${out};`];
    else if (manyEnds && !last) call = [`if (!${out})`, "\treturn;"];
    blocks.push(sideBlock(t, code, call, pairedFlag && i > 0 ? ["!paired"] : [], hoisted));
  });
  p.begins.forEach((code, i) => {
    const last = i === p.begins.length - 1;
    const call = [`lt_event_in(${tracker}, &key, &ctx);`];
    const guarded = code.filter !== null || code.mapping.condition !== undefined;
    if (!last && guarded) call.push("return;");
    blocks.push(sideBlock(t, code, call, [], hoisted));
  });
  const body = blocks.map((b) => b.join("\n")).join("\n\n");
  let head = wrapCall(`static void ${name}`, paramsOf(p), "");
  const grown = p.tracepoint.grown;
  if (grown) {
    const newer = wrapCall(`static void ${name}`, ["void *data", ...grown.proto.split(/,\s*/)], "");
    head = [`#ifdef LT_HAVE_${grown.flag}`, newer, "#else", head, "#endif"].join("\n");
  }
  return `${head}\n{\n${locals.join("\n")}\n\n${body}\n}`;
}

function keyStruct(t: TrackerModel): string {
  const members = t.keyMembers.map((m) =>
    m.type.kind === "string"
      ? `\tchar ${m.name}[${m.type.size}];`
      : `\t${cType(m.type)} ${m.name};`,
  );
  return [
    `struct ${t.ident}_key {`,
    ...members,
    "} __packed;",
    "",
    `static_assert(sizeof(struct ${t.ident}_key) == ${t.keySize});`,
  ].join("\n");
}

function trackerState(t: TrackerModel): string {
  const plan = t.plan;
  return [
    `static struct tracker_state ${t.ident}_tracker = {`,
    "\t.config = {",
    `\t\t.name = "${plan.name}",`,
    `\t\t.index = ${t.index},`,
    `\t\t.key_size = sizeof(struct ${t.ident}_key),`,
    `\t\t.capacity = ${plan.capacity},`,
    `\t\t.keep_last = ${plan.keep === "last"},`,
    ...(plan.actions.some((a) => a.kind === "stack") ? ["\t\t.stack = true,"] : []),
    "\t},",
    `\t.threshold_ns = ${plan.thresholdNs ?? 0},`,
    `\t.timeout_ns = ${plan.timeoutNs ?? 0},`,
    "};",
    "",
    `module_param_cb(${t.ident}_threshold_ns, &threshold_ops,`,
    `\t\t&${t.ident}_tracker.threshold_ns, 0644);`,
    `MODULE_PARM_DESC(${t.ident}_threshold_ns,`,
    `\t\t "${plan.name}: pairs longer than this are hits (ns, 0: none)");`,
    `module_param_cb(${t.ident}_timeout_ns, &timeout_ops,`,
    `\t\t&${t.ident}_tracker.timeout_ns, 0644);`,
    `MODULE_PARM_DESC(${t.ident}_timeout_ns,`,
    `\t\t "${plan.name}: begins pending longer than this time out (ns, 0: none)");`,
  ].join("\n");
}

function trackerSection(t: TrackerModel): string {
  const header = ["/*", ...sourceComment(t), " */"].join("\n");
  const probes = t.probes.map((p) => probeFunction(t, p));
  return [header, keyStruct(t), trackerState(t), ...probes].join("\n\n");
}

function probeTable(model: ModuleModel): string {
  const rows = model.trackers.flatMap((t) =>
    t.probes.map(
      (p) =>
        `\t{ .tracepoint = "${p.tracepoint.name}", .func = (void *)${t.ident}_on_${p.tracepoint.name} },`,
    ),
  );
  const trackers = model.trackers.map((t) => `\t&${t.ident}_tracker,`);
  return [
    "static struct probe probes[] = {",
    ...rows,
    "};",
    "",
    "static struct tracker_state *trackers[] = {",
    ...trackers,
    "};",
  ].join("\n");
}

export const CGROUP_HELPER = `static u64 current_cgroup_id(void)
{
	u64 id;

	rcu_read_lock();
	id = cgroup_id(task_dfl_cgroup(current));
	rcu_read_unlock();
	return id;
}`;

/** The module's C source (MOD_main.c). `fixed` is the tracker-independent part. */
export function moduleSource(model: ModuleModel, fixed: { top: string; bottom: string }): string {
  const summary = model.trackers.map((t) => ` *   ${t.plan.name}`).join("\n");
  const header = `// SPDX-License-Identifier: GPL-2.0
/*
 * ${model.name}: latency trackers generated by ltsh from ${model.file.replace(/^.*\//, "")}
 *
${summary}
 *
 * Hits are struct lt_hit records read from /dev/ltsh_${model.name}, counters are in
 * /proc/ltsh_${model.name}/stats, and each tracker's threshold and timeout are
 * module parameters (/sys/module/${model.name}/parameters/) that apply at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

${includes(model).join("\n")}

#include "lt_tracker.h"`;
  const helpers = model.helpers.map((h) =>
    h === "current_cgroup_id" ? CGROUP_HELPER : HELPERS[h],
  );
  const parts = [header, fixed.top, ...helpers, ...model.trackers.map(trackerSection)];
  parts.push(probeTable(model), fixed.bottom.replaceAll("@MOD@", model.name));
  return `${parts.join("\n\n")}\n`;
}
