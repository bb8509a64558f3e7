// The fields of one user-space probe site as C over the `regs` its probe function gets
// (struct pt_regs of the trapped task), from the same decoded locations the eBPF backend
// reads (UserProbeSitePlan): constants, registers of every width, memory through
// lt_user_read() (kmod-runtime/lt_uprobe.h) at base + index × scale + displacement, plus
// the load bias regs->ip − site address for %rip- and symbol-relative operands.

import type { ProbePlan, UserArgument, UserProbeSitePlan } from "../plan.ts";
import { ptRegsMember, x86Register } from "../uprobe/x86-registers.ts";
import type { FieldMapping } from "./tracepoints.ts";

/** A number as C: hexadecimal past 9 (addresses read better so), with a suffix if wide. */
function number(value: bigint): string {
  const magnitude = value < 0n ? -value : value;
  const text = magnitude > 9n ? `0x${magnitude.toString(16)}` : `${magnitude}`;
  const suffix = magnitude > 0x7fffffffn ? "ULL" : "";
  return `${value < 0n ? "-" : ""}${text}${suffix}`;
}

/** The terms of a sum, a negative constant subtracted: `regs->ip - 0x10 + regs->dx`. */
function sum(terms: string[]): string {
  return terms
    .map((term, i) => (i === 0 ? term : term.startsWith("-") ? `- ${term.slice(1)}` : `+ ${term}`))
    .join(" ");
}

const reg = (offset: number) => `regs->${ptRegsMember(offset)}`;
/** At a uprobe, regs->ip is the probe's runtime address. */
const IP = x86Register("rip")!.ptRegsOffset;

/** The runtime address of a memory operand, as an unsigned long expression. */
function address(site: UserProbeSitePlan, argument: UserArgument): string {
  const l = argument.location;
  if (l.kind !== "memory") throw new Error("not a memory operand");
  const terms: string[] = [];
  let displacement = BigInt(l.displacement);
  // Link-time address + load bias (regs->ip − the site's link-time address): PIE or not.
  if (l.relocated) {
    terms.push(reg(IP));
    displacement -= BigInt(site.address);
  }
  if (l.base !== null) terms.push(reg(l.base));
  if (l.index !== null) terms.push(l.scale === 1 ? reg(l.index) : `${reg(l.index)} * ${l.scale}`);
  if (displacement !== 0n || terms.length === 0) terms.push(number(displacement));
  return terms.length === 1 && !terms[0].startsWith("regs") ? `${terms[0]}UL` : sum(terms);
}

/** The argument's raw value (what eBPF stores in its 8-byte slot), before the field's cast. */
function rawValue(site: UserProbeSitePlan, argument: UserArgument): string {
  const l = argument.location;
  if (l.kind === "constant") return number(BigInt(l.value));
  if (l.kind === "register")
    return l.bitOffset === 0 ? reg(l.ptRegsOffset) : `(${reg(l.ptRegsOffset)} >> ${l.bitOffset})`;
  return `lt_user_read(${address(site, argument)}, ${argument.size})`;
}

/** The local buffer `str(NAME)` is read into. */
export function stringBuffer(field: string): string {
  return `lt_${field}`;
}

/**
 * `arg0`… / `retval` cast to the field's type (the eBPF reader widens its slot by the same
 * type), and `argN_str` for str(argN): the string read through the value into a local buffer.
 */
export function userSiteMapping(probe: ProbePlan, site: UserProbeSitePlan): FieldMapping {
  const fields: Record<string, string> = {};
  for (const field of probe.fields) {
    const argument = site.arguments[field.offset];
    const raw = rawValue(site, argument);
    fields[field.name] = `(${field.signed ? "s" : "u"}${field.size * 8})${raw}`;
    const str = `${field.name}_str`;
    fields[str] = `lt_user_string(${stringBuffer(str)}, ${raw})`;
  }
  return { id: probe.id, fields };
}

/** The buffers the `str()` fields among `used` are read into, as declarations. */
export function userStringLocals(probe: ProbePlan, used: Iterable<string>): string[] {
  if (!probe.user) return [];
  const plain = new Set(probe.fields.map((f) => f.name));
  return [...used]
    .filter((name) => !plain.has(name))
    .map((name) => `char ${stringBuffer(name)}[LT_USER_STRING_SIZE];`);
}
