// The C of a chain tracker: its lt_chain_config, its lt_module_tracker, and one probe per
// tracepoint and per user-space probe site (a uprobe consumer) that fills a struct
// lt_chain_event (which steps' filters hold, the `->` keys) for kmod-runtime/lt_chain.c,
// which applies the rules.

import { commentLines, ifLine, wrapCall } from "./c-layout.ts";
import { consumerHead } from "./c-uprobe.ts";
import type { ChainModel, ChainProbe, ChainSideCode, ChainUserProbe } from "./chain-model.ts";
import { stringLiteral } from "./expr.ts";
import { cType, type TrackerModel } from "./model.ts";

/** What each kind of event tells the runtime, from its TP_PROTO's arguments. */
const EVENT_ARGS: Record<string, string[]> = {
  LT_CHAIN_EV_IRQ_ENTRY: [".arg = irq"],
  LT_CHAIN_EV_IRQ_EXIT: [".arg = irq", ".ret = ret"],
  LT_CHAIN_EV_SOFTIRQ_ENTRY: [".arg = vec_nr"],
  LT_CHAIN_EV_SOFTIRQ_EXIT: [".arg = vec_nr"],
  LT_CHAIN_EV_SOFTIRQ_RAISE: [".arg = vec_nr"],
  LT_CHAIN_EV_WAKING: [".arg = p->pid", ".comm = p->comm"],
  LT_CHAIN_EV_SWITCH: [
    ".arg = next->pid",
    ".prev_pid = prev->pid",
    ".prev_state = lt_switch_state(preempt, prev_state, prev)",
    ".comm = next->comm",
  ],
};

const keyStructName = (t: TrackerModel, step: number) => `lt_${t.ident}_key${step}`;
const probeName = (t: TrackerModel, p: ChainProbe) => `lt_${t.ident}_on_${p.tracepoint.name}`;

function keyStructs(t: TrackerModel, chain: ChainModel): string[] {
  const steps = new Map<number, ChainSideCode>();
  for (const p of [...chain.probes, ...chain.userProbes])
    for (const s of p.sides) if (s.key.length > 0 && s.step >= 0) steps.set(s.step, s);
  return [...steps.values()].map((s) => {
    const name = keyStructName(t, s.step);
    const members = s.key.map((m) =>
      m.type.kind === "string"
        ? `\tchar ${m.name}[${m.type.size}];`
        : `\t${cType(m.type)} ${m.name};`,
    );
    return [
      `struct ${name} {`,
      ...members,
      "} __packed;",
      "",
      `static_assert(sizeof(struct ${name}) <= LT_CHAIN_KEY_MAX);`,
    ].join("\n");
  });
}

/** A side's block: its conditions, then the step bit (or cancel) and its key. */
function sideBlock(t: TrackerModel, side: ChainSideCode): string[] {
  const body: string[] = [];
  if (side.step < 0) body.push("ev.cancel = true;");
  else body.push(`ev.steps |= BIT(${side.step});`);
  if (side.step >= 0 && side.key.length > 0) {
    const struct = keyStructName(t, side.step);
    const key = `key${side.step}`;
    body.push(`${key} = (struct ${struct} *)ev.keys[${side.step}];`);
    for (const m of side.key) {
      if (m.type.kind === "string") {
        const args = [`${key}->${m.name}`, m.value, `sizeof(${key}->${m.name})`];
        body.push(wrapCall(m.value.startsWith('"') ? "strscpy_pad" : "memcpy", args, ";"));
      } else body.push(`${key}->${m.name} = ${m.value};`);
    }
  }
  if (side.conditions.length === 0) return body.map((l) => `\t${l}`);
  const condition = side.conditions
    .map((c) => (side.conditions.length > 1 && c.includes("||") ? `(${c})` : c))
    .join(" && ");
  const lines = body.flatMap((l) => l.split("\n")).map((l) => `\t\t${l}`);
  if (lines.length === 1) return [...ifLine("\t", condition, ")"), lines[0]];
  return [...ifLine("\t", condition), ...lines, "\t}"];
}

function paramsOf(proto: string): string[] {
  return ["void *data", ...proto.split(/,\s*/)];
}

/** Between a probe's braces: the event, each side's block, the runtime call. */
function eventBody(
  t: TrackerModel,
  init: string[],
  sides: ChainSideCode[],
  locals: string[],
  usesArgs: boolean,
): string {
  const decls =
    init.length === 1
      ? [`\tstruct lt_chain_event ev = { ${init[0]} };`]
      : ["\tstruct lt_chain_event ev = {", ...init.map((i) => `\t\t${i},`), "\t};"];
  for (const side of sides) {
    if (side.step >= 0 && side.key.length > 0)
      decls.push(`\tstruct ${keyStructName(t, side.step)} *key${side.step};`);
  }
  decls.push(...locals.map((l) => `\t${l}`));
  if (usesArgs) decls.push("\tunsigned long args[6];");
  const blocks: string[][] = [];
  if (usesArgs) blocks.push(["\tsyscall_get_arguments(current, regs, args);"]);
  for (const side of sides) blocks.push(sideBlock(t, side));
  blocks.push([`\tlt_chain_event(lt_${t.ident}_tracker.chain, &ev);`]);
  return `${decls.join("\n")}\n\n${blocks.map((b) => b.join("\n")).join("\n\n")}`;
}

function probeFunction(t: TrackerModel, p: ChainProbe): string {
  const head = wrapCall(`static void ${probeName(t, p)}`, paramsOf(p.tracepoint.proto), "");
  const init = [`.kind = ${p.kind}`, ...(EVENT_ARGS[p.kind] ?? [])];
  const body = eventBody(t, init, p.sides, [], p.usesArgs);
  const grown = p.tracepoint.grown;
  const fullHead = grown
    ? [
        `#ifdef LT_HAVE_${grown.flag}`,
        wrapCall(`static void ${probeName(t, p)}`, paramsOf(grown.proto), ""),
        "#else",
        head,
        "#endif",
      ].join("\n")
    : head;
  return `${fullHead}\n{\n${body}\n}`;
}

/**
 * The consumer of a user-space step or cancel: an LT_CHAIN_EV_OTHER event of the probed task,
 * told to the runtime whether a filter holds or not, as the replay reference sees every
 * event of the probe (the task it ran in is the CPU's running task from then on).
 */
function userProbeFunction(t: TrackerModel, u: ChainUserProbe): string {
  const body = eventBody(t, [".kind = LT_CHAIN_EV_OTHER"], u.sides, u.locals, false);
  return `${consumerHead(t, u)}\n{\n${body}\n\n\treturn 0;\n}`;
}

function chainState(t: TrackerModel, chain: ChainModel): string {
  const plan = t.plan;
  const state = `lt_${t.ident}_tracker`;
  const hex = (n: number) => `0x${n.toString(16)}`;
  return [
    `static const char *const lt_${t.ident}_segments[] = {`,
    ...chain.segments.map((s) => `\t${stringLiteral(s)},`),
    "};",
    "",
    `static const struct lt_chain_config lt_${t.ident}_chain = {`,
    `\t.nr_steps = ${plan.chain!.steps.length},`,
    `\t.switch_steps = ${hex(chain.switchSteps)},`,
    `\t.key_steps = ${hex(chain.keySteps)},`,
    `\t.until_block = ${plan.chain!.until === "block"},`,
    `\t.segment_names = lt_${t.ident}_segments,`,
    "};",
    "",
    `static struct lt_module_tracker ${state} = {`,
    "\t.config = {",
    `\t\t.name = ${stringLiteral(plan.name)},`,
    `\t\t.index = ${t.index},`,
    "\t\t.key_size = 1,",
    `\t\t.capacity = ${plan.capacity},`,
    `\t\t.keep_last = ${plan.keep === "last"},`,
    "\t},",
    `\t.chain_config = &lt_${t.ident}_chain,`,
    `\t.threshold_ns = ${plan.thresholdNs ?? 0},`,
    `\t.timeout_ns = ${plan.timeoutNs ?? 0},`,
    "};",
    "",
    wrapCall("LT_TRACKER_PARAMS", [t.ident, state], ";"),
  ].join("\n");
}

/** The section of a chain tracker in MOD_main.c. */
export function chainSection(t: TrackerModel, chain: ChainModel): string {
  const source = t.plan.source
    .trim()
    .split("\n")
    .filter((l) => !l.trim().startsWith("#") && l.trim() !== "")
    .flatMap((l) => commentLines(l, "\t"));
  const header = ["/*", ...source, " */"].join("\n");
  const probes = chain.probes.map((p) => probeFunction(t, p));
  const userProbes = chain.userProbes.map((u) => userProbeFunction(t, u));
  return [header, ...keyStructs(t, chain), chainState(t, chain), ...probes, ...userProbes].join(
    "\n\n",
  );
}
