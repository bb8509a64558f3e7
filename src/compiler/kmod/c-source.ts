// The kmod target's C: the part of a module that differs per tracker (key structs, tracker
// state, probe functions, the tables LT_MODULE() hands to kmod-runtime/lt_module.c, which
// does the rest). Written to read like a hand-written module: kernel style, tabs,
// checkpatch-clean, lines wrapped at 80 columns and never past 100.

import { hasAction } from "../actions.ts";
import { commentLines, ifLine, wrapCall } from "./c-layout.ts";
import { uprobeRows, userProbeFunction } from "./c-uprobe.ts";
import { chainSection } from "./chain-source.ts";
import { stringLiteral } from "./expr.ts";
import {
  cType,
  type ModuleModel,
  type ProbeFunction,
  type SideCode,
  type TrackerModel,
} from "./model.ts";

/** Probe functions test it once at the top: 32-bit tasks number syscalls differently. */
const COMPAT = "!in_compat_syscall() && ";
/** Included by every generated file; the tracepoints and builtins add theirs. */
const BASE_HEADERS = ["linux/module.h", "linux/sched.h", "linux/string.h"];

function sourceComment(t: TrackerModel): string[] {
  return t.plan.source
    .trim()
    .split("\n")
    .filter((l) => !l.trim().startsWith("#") && l.trim() !== "")
    .flatMap((l) => commentLines(l, "\t"));
}

function includes(model: ModuleModel): string[] {
  const headers = [...new Set([...BASE_HEADERS, ...model.headers])];
  return headers.sort().map((h) => `#include <${h}>`);
}

function paramsOf(proto: string): string[] {
  return ["void *data", ...proto.split(/,\s*/)];
}

function assignKey(t: TrackerModel, code: SideCode, indent: string): string[] {
  return t.keyMembers.map((m, i) => {
    const value = code.key[i];
    if (m.type.kind === "string") {
      const args = [`key.${m.name}`, value, `sizeof(key.${m.name})`];
      return wrapCall(value.startsWith('"') ? "strscpy_pad" : "memcpy", args, ";", indent);
    }
    return `${indent}key.${m.name} = ${value};`;
  });
}

/** The side's captured values, zeroed first: a field this probe lacks stays 0. */
function assignCaptures(t: TrackerModel, code: SideCode, indent: string): string[] {
  if (t.captures.length === 0 || code.side === "cancel") return [];
  const out = [`${indent}memset(&captured, 0, sizeof(captured));`];
  t.captures.forEach((m, i) => {
    const value = code.captures[i];
    if (!value) return;
    if (m.type.kind !== "string") {
      out.push(`${indent}captured.${m.name} = ${value.text};`);
      return;
    }
    const size = `${Math.min(value.stringSize, m.size)}`;
    // a literal or a __data_loc string may be shorter than the slot: copy up to its NUL
    const terminated = value.text.startsWith('"') || value.terminated;
    const args = [
      `captured.${m.name}`,
      value.text,
      terminated ? `sizeof(captured.${m.name})` : size,
    ];
    out.push(...wrapCall(terminated ? "strscpy_pad" : "memcpy", args, ";", indent).split("\n"));
  });
  return out;
}

/** The runtime call of a begin or an end: with the captured values when there are some. */
export function eventCall(t: TrackerModel, side: "in" | "out"): string {
  if (t.captures.length === 0) return `lt_event_${side}(tracker, &key, &ctx)`;
  return `lt_event_${side}_captured(tracker, &key, &ctx, &captured)`;
}

/** What an alternative's `if` tests before its key: its guards, mapping and filter. */
function blockConditions(code: SideCode, guards: string[], compatHoisted: boolean): string[] {
  const conditions = [...guards];
  const condition = code.mapping.condition;
  if (condition) conditions.push(compatHoisted ? condition.replace(COMPAT, "") : condition);
  if (code.filter && !code.usesArgs)
    conditions.push(parenthesize(code.filter, conditions.length > 0));
  return conditions;
}

/** Whether the alternative always reaches its runtime call. */
function unconditional(code: SideCode, compatHoisted: boolean): boolean {
  return code.filter === null && blockConditions(code, [], compatHoisted).length === 0;
}

/**
 * One alternative: its guard, the key, the context, the runtime call. `ctxLine` fills
 * the context, or only sets its probe index when an earlier block filled it.
 */
function sideBlock(
  t: TrackerModel,
  code: SideCode,
  call: string[],
  guards: string[],
  compatHoisted: boolean,
  ctxLine: string | null,
): string[] {
  const conditions = blockConditions(code, guards, compatHoisted);
  const argsFirst = code.usesArgs;
  const out: string[] = [];
  let indent = "\t";
  if (conditions.length > 0) {
    out.push(...ifLine("\t", conditions.join(" && ")));
    indent = "\t\t";
  }
  let inner = indent;
  if (argsFirst) out.push(`${indent}syscall_get_arguments(current, regs, args);`);
  if (code.filter && argsFirst) {
    out.push(...ifLine(indent, code.filter));
    inner = `${indent}\t`;
  }
  out.push(...assignKey(t, code, inner));
  out.push(...assignCaptures(t, code, inner));
  if (ctxLine) out.push(`${inner}${ctxLine}`);
  out.push(...call.map((l) => `${inner}${l}`));
  if (code.filter && argsFirst) out.push(`${indent}}`);
  if (conditions.length > 0) out.push("\t}");
  return out;
}

function parenthesize(text: string, needed: boolean): string {
  return needed && text.includes("||") ? `(${text})` : text;
}

const probeName = (t: TrackerModel, p: ProbeFunction) => `lt_${t.ident}_on_${p.tracepoint.name}`;

/** The function's head: the tracepoint's prototype, or both where kernels differ. */
function probeHead(t: TrackerModel, p: ProbeFunction): string {
  const name = `static void ${probeName(t, p)}`;
  const head = wrapCall(name, paramsOf(p.tracepoint.proto), "");
  const grown = p.tracepoint.grown;
  if (!grown) return head;
  const newer = wrapCall(name, paramsOf(grown.proto), "");
  return [`#ifdef LT_HAVE_${grown.flag}`, newer, "#else", head, "#endif"].join("\n");
}

/** What a probe function does at one event: its ends, then cancels, then begins. */
export type ProbeSides = Pick<ProbeFunction, "ends" | "cancels" | "begins">;

function probeFunction(t: TrackerModel, p: ProbeFunction): string {
  return `${probeHead(t, p)}\n{\n${probeBody(t, p)}\n}`;
}

/**
 * A probe function's locals and blocks, between its braces; `done` leaves it early (a
 * uprobe consumer returns 0).
 */
export function probeBody(t: TrackerModel, p: ProbeSides, done = "return;"): string {
  const manyEnds = p.ends.length > 1;
  const pairedFlag = manyEnds && p.begins.length > 0;
  const locals = [
    `\tstruct lt_tracker *tracker = lt_${t.ident}_tracker.tracker;`,
    `\tstruct lt_${t.ident}_key key;`,
    "\tstruct lt_ctx ctx;",
  ];
  const capturing = p.ends.length + p.begins.length > 0 && t.captures.length > 0;
  if (capturing) locals.push(`\tstruct lt_${t.ident}_captures captured;`);
  const sides = [...p.ends, ...p.cancels, ...p.begins];
  locals.push(...new Set(sides.flatMap((s) => s.locals.map((l) => `\t${l}`))));
  if (sides.some((s) => s.usesArgs)) locals.push("\tunsigned long args[6];");
  if (pairedFlag) locals.push("\tbool paired = false;");
  const blocks: string[][] = [];
  const hoisted = sides.every((s) => s.mapping.condition?.startsWith(COMPAT));
  if (hoisted) {
    blocks.push(["\tif (in_compat_syscall())", `\t\t${done}`]);
  }
  // One event, one context: when the first alternative always runs, its fill serves
  // the others (the same timestamp, as in the replay reference), which only change the
  // probe index when theirs differs.
  const filled = sides.length > 1 && unconditional(sides[0], hoisted) ? sides[0] : null;
  const ctxLine = (code: SideCode): string | null => {
    if (!filled || code === filled) return `lt_ctx_fill(&ctx, ${code.index});`;
    return code.index === filled.index ? null : `ctx.probe = ${code.index};`;
  };
  p.ends.forEach((code, i) => {
    const last = i === p.ends.length - 1;
    const out = eventCall(t, "out");
    let call = [`${out};`];
    if (pairedFlag) call = [`paired = !${out};`];
    else if (manyEnds && !last) call = [`if (!${out})`, `\t${done}`];
    const guards = pairedFlag && i > 0 ? ["!paired"] : [];
    blocks.push(sideBlock(t, code, call, guards, hoisted, ctxLine(code)));
  });
  // Every cancel alternative runs, as in the replay reference: each forgets its own key.
  for (const code of p.cancels) {
    const call = ["lt_event_cancel(tracker, &key, &ctx);"];
    blocks.push(sideBlock(t, code, call, [], hoisted, ctxLine(code)));
  }
  p.begins.forEach((code, i) => {
    const last = i === p.begins.length - 1;
    const call = [`${eventCall(t, "in")};`];
    const guarded = code.filter !== null || code.mapping.condition !== undefined;
    if (!last && guarded) call.push(done);
    blocks.push(sideBlock(t, code, call, [], hoisted, ctxLine(code)));
  });
  const body = blocks.map((b) => b.join("\n")).join("\n\n");
  return `${locals.join("\n")}\n\n${body}`;
}

function keyStruct(t: TrackerModel): string {
  const members = t.keyMembers.map((m) =>
    m.type.kind === "string"
      ? `\tchar ${m.name}[${m.type.size}];`
      : `\t${cType(m.type)} ${m.name};`,
  );
  return [
    `struct lt_${t.ident}_key {`,
    ...members,
    "} __packed;",
    "",
    `static_assert(sizeof(struct lt_${t.ident}_key) == ${t.keySize});`,
  ].join("\n");
}

/** The values its hits carry, in the slots eBPF's hits use (kmod-decode.ts reads them). */
function capturesStruct(t: TrackerModel): string[] {
  if (t.captures.length === 0) return [];
  const members = t.captures.map((m) =>
    m.type.kind === "string"
      ? `\tchar ${m.name}[${m.size}];`
      : `\t${m.type.signed ? "s" : "u"}64 ${m.name};`,
  );
  const size = t.captures.reduce((sum, m) => sum + m.size, 0);
  return [
    `struct lt_${t.ident}_captures {`,
    ...members,
    "};",
    "",
    `static_assert(sizeof(struct lt_${t.ident}_captures) == ${size});`,
  ];
}

/** The tracker's lt_module_tracker and its two module parameters (lt_module.h). */
function trackerState(t: TrackerModel): string {
  const plan = t.plan;
  const state = `lt_${t.ident}_tracker`;
  return [
    `static struct lt_module_tracker ${state} = {`,
    "\t.config = {",
    `\t\t.name = ${stringLiteral(plan.name)},`,
    `\t\t.index = ${t.index},`,
    `\t\t.key_size = sizeof(struct lt_${t.ident}_key),`,
    `\t\t.capacity = ${plan.capacity},`,
    `\t\t.keep_last = ${plan.keep === "last"},`,
    ...(hasAction(plan, "stack") ? ["\t\t.stack = true,"] : []),
    ...(t.captures.length > 0
      ? [`\t\t.capture_size = sizeof(struct lt_${t.ident}_captures),`]
      : []),
    "\t},",
    `\t.threshold_ns = ${plan.thresholdNs ?? 0},`,
    `\t.timeout_ns = ${plan.timeoutNs ?? 0},`,
    "};",
    "",
    wrapCall("LT_TRACKER_PARAMS", [t.ident, state], ";"),
  ].join("\n");
}

function trackerSection(t: TrackerModel): string {
  if (t.chain) return chainSection(t, t.chain);
  const header = ["/*", ...sourceComment(t), " */"].join("\n");
  const probes = t.probes.map((p) => probeFunction(t, p));
  const userProbes = t.userProbes.map((u) => userProbeFunction(t, u));
  const structs = [keyStruct(t), ...(t.captures.length > 0 ? [capturesStruct(t).join("\n")] : [])];
  return [header, ...structs, trackerState(t), ...probes, ...userProbes].join("\n\n");
}

/** The descriptor lt_module.c reads: every probe function and user-space site, every tracker. */
function moduleTables(model: ModuleModel): string {
  const rows = model.trackers.flatMap((t) =>
    t.probes.map((p) =>
      wrapCall(
        p.optional ? "LT_PROBE_OPTIONAL" : "LT_PROBE",
        [p.tracepoint.name, probeName(t, p)],
        ",",
        "\t",
      ),
    ),
  );
  const trackers = model.trackers.map((t) => `\t&lt_${t.ident}_tracker,`);
  const uprobes = uprobeRows(model);
  const tables = [
    ...(rows.length > 0
      ? ["static struct lt_module_probe lt_probes[] = {", ...rows, "};", ""]
      : []),
    ...(uprobes.length > 0
      ? ["static struct lt_uprobe lt_uprobes[] = {", ...uprobes, "};", ""]
      : []),
  ];
  let descriptor = "LT_MODULE(lt_trackers, lt_probes);";
  if (uprobes.length > 0)
    descriptor =
      rows.length > 0
        ? "LT_MODULE_MIXED(lt_trackers, lt_probes, lt_uprobes);"
        : "LT_MODULE_UPROBES(lt_trackers, lt_uprobes);";
  return [
    ...tables,
    "static struct lt_module_tracker *lt_trackers[] = {",
    ...trackers,
    "};",
    "",
    descriptor,
  ].join("\n");
}

function fileHeader(model: ModuleModel): string {
  const file = model.file.replace(/^.*\//, "");
  const about = [
    `${model.name}: latency trackers generated by ltsh from ${file}:`,
    model.trackers.map((t) => t.plan.name).join(", "),
  ];
  const usage = [
    "The trackers' keys, probe functions and tables; kmod-runtime's lt_module.c does the",
    `rest (see lt_module.h). Hits are struct lt_hit records read from /dev/ltsh_${model.name},`,
    `counters are in /proc/ltsh_${model.name}/stats, and each tracker's threshold and timeout`,
    `are module parameters (/sys/module/${model.name}/parameters/) that apply at once.`,
  ];
  return [
    "// SPDX-License-Identifier: GPL-2.0",
    "/*",
    ...commentLines(about.join(" "), " "),
    " *",
    ...commentLines(usage.join(" "), " "),
    " */",
    ...includes(model),
    "",
    '#include "lt_module.h"',
    ...(uprobeRows(model).length > 0 ? ['#include "lt_uprobe.h"'] : []),
  ].join("\n");
}

/** The module's C source (MOD_main.c). */
export function moduleSource(model: ModuleModel): string {
  const parts = [fileHeader(model), ...model.trackers.map(trackerSection), moduleTables(model)];
  return `${parts.join("\n\n")}\n`;
}
