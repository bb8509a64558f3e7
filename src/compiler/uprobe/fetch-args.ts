// tracefs `uprobe_events` fetch arguments (Documentation/trace/uprobetracer.rst) for USDT
// arguments and function arguments, so `ltsh record --for-file` records the values the
// replay reader needs: `%ax:s32`, `-20(%bp):s32`, `@+12345:u64`, `\0xffffffff:s32` (the
// constant -1), `$retval`.
//
// Not expressible: indexed operands (`(%rax,%rbx,8)`): fetch arguments have no register
// arithmetic, so those come back as errors naming the argument.

import type { ElfResult } from "./elf.ts";
import type { UsdtArgument } from "./usdt-args.ts";
import { ARGUMENT_REGISTERS, type X86Register } from "./x86-registers.ts";

export interface FetchContext {
  /** Virtual address and file offset of the probe site: `@+` offsets count from its mapping. */
  probeAddress: number;
  probeFileOffset: number;
  /** Virtual address of a symbol of the binary (for `Symbol+8(%rip)`). */
  symbolAddress(name: string): number | undefined;
}

/** The fetch argument reading `argument` at the probe, typed with its size and sign. */
export function usdtFetchArg(argument: UsdtArgument, context: FetchContext): ElfResult<string> {
  const type = `${argument.signed ? "s" : "u"}${argument.size * 8}`;
  const location = argument.location;
  switch (location.kind) {
    case "constant": {
      // `\IMM` is parsed as unsigned: store the two's complement, the type gives the sign.
      const bits = BigInt.asUintN(argument.size * 8, location.value);
      return { ok: true, value: `\\0x${bits.toString(16)}:${type}` };
    }
    case "register":
      return { ok: true, value: registerFetch(location.register, type) };
    case "memory": {
      if (location.index !== undefined)
        return {
          ok: false,
          message: `'${argument.text}' uses an index register, which uprobe_events cannot read`,
        };
      let displacement = location.displacement;
      if (location.symbol !== undefined) {
        const address = context.symbolAddress(location.symbol);
        if (address === undefined)
          return { ok: false, message: `'${argument.text}': no symbol '${location.symbol}'` };
        displacement += BigInt(address);
      }
      if (location.base === undefined || location.base.fullName === "ip") {
        if (location.symbol === undefined && location.base !== undefined)
          return { ok: false, message: `'${argument.text}': %rip-relative without a symbol` };
        // An address in the binary's own layout: relative to where the probe's file is mapped.
        const fileRelative = displacement - BigInt(context.probeAddress - context.probeFileOffset);
        return { ok: true, value: `@+${fileRelative}:${type}` };
      }
      const sign = displacement < 0n ? "" : "+";
      return { ok: true, value: `${sign}${displacement}(%${location.base.fullName}):${type}` };
    }
  }
}

function registerFetch(register: X86Register, type: string): string {
  // The high-byte registers (%ah …) are bits 8-15 of the full one; a bitfield is unsigned.
  if (register.bitOffset !== 0) return `%${register.fullName}:b8@${register.bitOffset}/64`;
  return `%${register.fullName}:${type}`;
}

/** `arg0` … `arg5` of a function entry (SysV calling convention), as 64-bit values. */
export function functionArgFetch(index: number): ElfResult<string> {
  const register = ARGUMENT_REGISTERS[index];
  return register === undefined
    ? { ok: false, message: `arg${index}: only arg0 to arg5 travel in registers` }
    : { ok: true, value: `%${register.fullName}:u64` };
}

/** A function's return value at a uretprobe. */
export const RETVAL_FETCH = "$retval:u64";
