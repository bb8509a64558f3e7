// A user-space probe's spelling → its ProbePlan: the fields a tracker may name (`arg0`…,
// `retval`) typed as the calling convention or the USDT note says, and per site where each
// value is (plain JSON: pt_regs offsets, decimal strings for 64-bit numbers), so every
// backend reads the same thing without opening the binary again.

import type {
  ProbePlan,
  UserArgLocation,
  UserArgument,
  UserProbePlan,
  UserProbeSitePlan,
} from "../plan.ts";
import type { ElfResult } from "./elf.ts";
import { symbolAddresses } from "./elf-symbols.ts";
import { resolveUserProbe, splitUserProbe, type UserProbeTarget } from "./probe-target.ts";
import type { UsdtArgument } from "./usdt-args.ts";
import { ARGUMENT_REGISTERS, RETURN_REGISTER, type X86Register } from "./x86-registers.ts";

export interface UserProbeResolution {
  probe: ProbePlan;
  /** Said at the probe, not fatal (a uprobe on a GNU indirect function). */
  warnings: string[];
}

/** `uprobe:PATH:SYMBOL[+OFF]`, `uprobe:PATH:0xADDR`, `uretprobe:PATH:SYMBOL`, `usdt:PATH:[PROV:]NAME`. */
export function planUserProbe(spelling: string): ElfResult<UserProbeResolution> {
  const split = splitUserProbe(spelling);
  if (split === null) {
    const kind = spelling.slice(0, spelling.indexOf(":"));
    const form = kind === "usdt" ? "usdt:PATH:[PROVIDER:]NAME" : `${kind}:PATH:SYMBOL`;
    return { ok: false, message: `'${spelling}' names no probe: write ${form}` };
  }
  const target = resolveUserProbe(split.kind, split.path, split.spec);
  if (!target.ok) return target;
  const sites = planSites(target.value);
  if (!sites.ok) return sites;
  const name = shortName(target.value);
  const user: UserProbePlan = {
    kind: target.value.kind,
    path: target.value.path,
    spec: target.value.name,
    sites: sites.value,
  };
  const warnings = target.value.indirect
    ? [
        `${split.spec} is a GNU indirect function: the probe sees its resolver, which runs once at load time; probe the implementation it picks instead`,
      ]
    : [];
  const id = `${user.kind}:${user.path}:${user.spec}`;
  const probe: ProbePlan = {
    id,
    category: user.kind,
    name,
    eventId: -1,
    fields: fieldsOf(user),
    user,
  };
  return { ok: true, value: { probe, warnings } };
}

/** `lt_add+4` → `lt_add_4`, `ltsh:work__begin` → `work__begin`: names derived trackers read well with. */
function shortName(target: UserProbeTarget): string {
  const last =
    target.kind === "usdt" ? target.name.slice(target.name.indexOf(":") + 1) : target.name;
  return last.replace(/[^A-Za-z0-9_]/g, "_");
}

function planSites(target: UserProbeTarget): ElfResult<UserProbeSitePlan[]> {
  const base = recorderBaseName(target);
  const symbols = target.kind === "usdt" ? symbolAddresses(target.path) : null;
  if (symbols !== null && !symbols.ok) return symbols;
  const planned: UserProbeSitePlan[] = [];
  for (const [index, site] of target.sites.entries()) {
    const recorderEvent = target.sites.length > 1 ? `${base}_${index}` : base;
    let args: UserArgument[];
    if (target.kind === "uprobe") args = ARGUMENT_REGISTERS.map((r) => registerArgument(r));
    else if (target.kind === "uretprobe") args = [registerArgument(RETURN_REGISTER)];
    else {
      if (site.arguments === undefined || !site.arguments.ok)
        return {
          ok: false,
          message: `${target.name} at 0x${site.address.toString(16)}: ${site.arguments?.ok === false ? site.arguments.message : "no arguments"}`,
        };
      const converted = usdtArguments(site.arguments.value, symbols!.value);
      if (!converted.ok) return converted;
      args = converted.value;
    }
    planned.push({
      address: site.address,
      fileOffset: site.fileOffset,
      refCtrOffset: site.refCtrOffset,
      arguments: args,
      recorderEvent,
    });
  }
  return { ok: true, value: planned };
}

/**
 * `ltu_<name>_<hash>`: a trace line names its event without the uprobe_events group, so
 * the name must not be a tracepoint's (the `ltu_` prefix) nor another user probe's (a hash
 * of the kind, binary and spec: `main` of two programs, a uprobe and a uretprobe on one function).
 */
export function recorderBaseName(target: UserProbeTarget): string {
  const id = `${target.kind}:${target.path}:${target.name}`;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `ltu_${shortName(target)}_${(hash & 0xffff).toString(16).padStart(4, "0")}`;
}

function registerArgument(register: X86Register): UserArgument {
  return {
    text: `%${register.name}`,
    size: 8,
    signed: false,
    location: { kind: "register", ptRegsOffset: register.ptRegsOffset, bitOffset: 0 },
  };
}

function usdtArguments(
  args: UsdtArgument[],
  symbols: ReadonlyMap<string, number>,
): ElfResult<UserArgument[]> {
  const planned: UserArgument[] = [];
  for (const argument of args) {
    const location = planLocation(argument, symbols);
    if (!location.ok) return location;
    const { text, size, signed } = argument;
    planned.push({ text, size, signed, location: location.value });
  }
  return { ok: true, value: planned };
}

function planLocation(
  argument: UsdtArgument,
  symbols: ReadonlyMap<string, number>,
): ElfResult<UserArgLocation> {
  const l = argument.location;
  if (l.kind === "constant") return { ok: true, value: { kind: "constant", value: `${l.value}` } };
  if (l.kind === "register") {
    const { ptRegsOffset, bitOffset } = l.register;
    return { ok: true, value: { kind: "register", ptRegsOffset, bitOffset } };
  }
  const ripBased = l.base?.fullName === "ip";
  if (ripBased && l.symbol === undefined)
    return {
      ok: false,
      message: `USDT argument '${argument.text}': %rip-relative without a symbol`,
    };
  let displacement = l.displacement;
  if (l.symbol !== undefined) {
    const address = symbols.get(l.symbol);
    if (address === undefined)
      return { ok: false, message: `USDT argument '${argument.text}': no symbol '${l.symbol}'` };
    displacement += BigInt(address);
  }
  return {
    ok: true,
    value: {
      kind: "memory",
      base: l.base === undefined || ripBased ? null : l.base.ptRegsOffset,
      index: l.index?.ptRegsOffset ?? null,
      scale: l.scale,
      displacement: `${displacement}`,
      relocated: l.symbol !== undefined,
    },
  };
}

/** `arg0`… typed from site 0 (a compiler gives every site of a probe the same types), or `retval`. */
function fieldsOf(user: UserProbePlan): ProbePlan["fields"] {
  const names =
    user.kind === "uretprobe" ? ["retval"] : user.sites[0].arguments.map((_, i) => `arg${i}`);
  return names.map((name, offset) => {
    const { size, signed } = user.sites[0].arguments[offset];
    return { name, cType: `${signed ? "s" : "u"}${size * 8}`, offset, size, signed, common: false };
  });
}
