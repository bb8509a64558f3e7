// The kmod target's C for user-space probes: a uprobe consumer's handler (entry) or
// ret_handler (return) per tracker and probe site, with the body a tracepoint's probe
// function has (a chain's: chain-source.ts), and the rows of the lt_uprobe table
// kmod-runtime/lt_uprobe.c registers.

import { commentLines, lineWidth, wrapCall } from "./c-layout.ts";
import { probeBody } from "./c-source.ts";
import { stringLiteral } from "./expr.ts";
import type { ModuleModel, TrackerModel } from "./model.ts";
import type { UserProbeFunction, UserProbeSite } from "./uprobe-model.ts";

/** Keeps `static int NAME_2(struct uprobe_consumer *self,` within 100 columns. */
const IDENT_MAX = 56;

/** The tracker's user-space probe sites: a chain's consumers, or a plain tracker's. */
function userSites(t: TrackerModel): UserProbeSite[] {
  return t.chain?.userProbes ?? t.userProbes;
}

/**
 * `lt_TRACKER_on_NAME`, cut to IDENT_MAX characters (a C++ symbol can be hundreds long),
 * distinct among the tracker's functions.
 */
function functionName(t: TrackerModel, u: UserProbeSite): string {
  const names: string[] = [];
  for (const f of userSites(t)) {
    const base = `lt_${t.ident}_on_${f.name}`.slice(0, IDENT_MAX);
    let name = base;
    for (let n = 2; names.includes(name); n++) name = `${base}_${n}`;
    if (f === u) return name;
    names.push(name);
  }
  throw new Error("not a probe function of this tracker");
}

/** What and where the function probes, as a comment of one line or several. */
function aboutComment(u: UserProbeSite): string {
  const text = `${u.about} at file offset ${hex(u.fileOffset)}`;
  const line = `/* ${text} */`;
  return lineWidth(line) <= 80 ? line : ["/*", ...commentLines(text, " "), " */"].join("\n");
}

/**
 * A consumer callback's comment and head: `handler` at an entry or USDT site, `ret_handler`
 * at a return. Its body ends with `return 0;` (the consumer stays registered).
 */
export function consumerHead(t: TrackerModel, u: UserProbeSite): string {
  const params = u.atReturn
    ? ["struct uprobe_consumer *self", "unsigned long func", "struct pt_regs *regs"]
    : ["struct uprobe_consumer *self", "struct pt_regs *regs"];
  return `${aboutComment(u)}\n${wrapCall(`static int ${functionName(t, u)}`, params, "")}`;
}

/** A plain tracker's consumer callback: the body a tracepoint's probe function has. */
export function userProbeFunction(t: TrackerModel, u: UserProbeFunction): string {
  return `${consumerHead(t, u)}\n{\n${probeBody(t, u, "return 0;")}\n\n\treturn 0;\n}`;
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** One LT_UPROBE() / LT_URETPROBE() per probe function, in the order they were written. */
export function uprobeRows(model: ModuleModel): string[] {
  return model.trackers.flatMap((t) =>
    userSites(t).map((u) => {
      const at = [stringLiteral(u.path), hex(u.fileOffset)];
      return u.atReturn
        ? wrapCall("LT_URETPROBE", [...at, functionName(t, u)], ",", "\t")
        : wrapCall("LT_UPROBE", [...at, hex(u.refCtrOffset), functionName(t, u)], ",", "\t");
    }),
  );
}
