// The argument string of a USDT note, x86-64 (AT&T syntax as GCC and Clang print asm
// operands): `[-]SIZE@OPERAND` separated by spaces, where the sign marks a signed value and
// OPERAND is what the compiler chose for the "nor" constraint:
//   constant  4@$5  -4@$-1                 register  -4@%eax  8@%r12  1@%al  -1@%dil
//   memory    -4@-20(%rbp)  8@(%rax,%rbx,8)  -4@16(%rdx,%rcx,4)  -4@(,%rcx,4)
//   symbols   -4@40+Symbol(%rip)  8@Symbol+8(%rip)  -4@Symbol(,%rax,4)  8@Symbol (absolute)
// Errors are values: a note a compiler wrote oddly must not take the tracker down with a throw.

import type { ElfResult } from "./elf.ts";
import { type X86Register, x86Register } from "./x86-registers.ts";

export type UsdtLocation =
  | { kind: "constant"; value: bigint }
  | { kind: "register"; register: X86Register }
  | {
      kind: "memory";
      /** Absent for an absolute address or `disp(,%index,scale)`; %rip for RIP-relative. */
      base?: X86Register;
      index?: X86Register;
      scale: 1 | 2 | 4 | 8;
      displacement: bigint;
      /** A symbol of the binary the displacement is relative to (`Symbol+8(%rip)`). */
      symbol?: string;
    };

export interface UsdtArgument {
  /** As written in the note: "-4@%eax". */
  text: string;
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  location: UsdtLocation;
}

/** Decodes a whole argument string; the first bad argument makes the whole an error. */
export function parseUsdtArguments(text: string): ElfResult<UsdtArgument[]> {
  const parsed: UsdtArgument[] = [];
  for (const [index, word] of text.split(/\s+/).filter(Boolean).entries()) {
    const argument = parseUsdtArgument(word);
    if (!argument.ok) return { ok: false, message: `arg${index}: ${argument.message}` };
    parsed.push(argument.value);
  }
  return { ok: true, value: parsed };
}

/** Decodes one `[-]SIZE@OPERAND` (a missing SIZE@ means: the operand's width, unsigned). */
export function parseUsdtArgument(text: string): ElfResult<UsdtArgument> {
  const sized = /^(-?)(\d+)@(.+)$/.exec(text);
  const operandText = sized?.[3] ?? text;
  const location = parseOperand(operandText);
  if (!location.ok)
    return { ok: false, message: `cannot decode USDT argument '${text}': ${location.message}` };
  const size = sized ? Number(sized[2]) : defaultSize(location.value);
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8)
    return { ok: false, message: `USDT argument '${text}' has size ${size} (1, 2, 4 or 8)` };
  return { ok: true, value: { text, size, signed: sized?.[1] === "-", location: location.value } };
}

function defaultSize(location: UsdtLocation): 1 | 2 | 4 | 8 {
  return location.kind === "register" ? location.register.width : 8;
}

function parseOperand(text: string): ElfResult<UsdtLocation> {
  if (text.startsWith("$")) {
    const value = parseInteger(text.slice(1));
    return value === null
      ? { ok: false, message: `'${text}' is not an integer constant` }
      : { ok: true, value: { kind: "constant", value } };
  }
  if (text.startsWith("%")) {
    const register = parseRegister(text);
    return register.ok
      ? { ok: true, value: { kind: "register", register: register.value } }
      : register;
  }
  return parseMemory(text);
}

/** `DISP(BASE,INDEX,SCALE)` with every part optional, or a bare DISP (an absolute address). */
function parseMemory(text: string): ElfResult<UsdtLocation> {
  const match = /^([^()]*)(?:\(([^()]*)\))?$/.exec(text);
  if (match === null) return { ok: false, message: `unrecognised operand '${text}'` };
  const displacement = parseDisplacement(match[1]);
  if (!displacement.ok) return displacement;
  if (match[2] === undefined) {
    if (match[1] === "") return { ok: false, message: "empty operand" };
    return { ok: true, value: { kind: "memory", scale: 1, ...displacement.value } };
  }
  const parts = match[2].split(",").map((p) => p.trim());
  if (parts.length > 3) return { ok: false, message: `too many parts in '(${match[2]})'` };
  const [baseText, indexText, scaleText] = parts;
  const base = baseText === "" ? undefined : parseRegister(baseText);
  if (base !== undefined && !base.ok) return base;
  const index = indexText === undefined || indexText === "" ? undefined : parseRegister(indexText);
  if (index !== undefined && !index.ok) return index;
  if (base === undefined && index === undefined)
    return { ok: false, message: `no register in '(${match[2]})'` };
  const scale = scaleText === undefined ? 1 : Number(scaleText);
  if (scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8)
    return { ok: false, message: `scale '${scaleText}' is not 1, 2, 4 or 8` };
  return {
    ok: true,
    value: {
      kind: "memory",
      ...(base ? { base: base.value } : {}),
      ...(index ? { index: index.value } : {}),
      scale,
      ...displacement.value,
    },
  };
}

/** A sum of at most one symbol and integers: "", "-20", "8+lt_wide", "lt_table+48", "S-8". */
function parseDisplacement(text: string): ElfResult<{ displacement: bigint; symbol?: string }> {
  let displacement = 0n;
  let symbol: string | undefined;
  const terms = text.replace(/\s+/g, "").match(/[+-]?[^+-]+/g) ?? [];
  if (terms.join("") !== text.replace(/\s+/g, ""))
    return { ok: false, message: `unrecognised displacement '${text}'` };
  for (const term of terms) {
    const value = parseInteger(term);
    if (value !== null) {
      displacement += value;
      continue;
    }
    const name = term.replace(/^\+/, "");
    if (symbol !== undefined || !/^[A-Za-z_.$][\w.$@]*$/.test(name))
      return { ok: false, message: `unrecognised displacement '${text}'` };
    symbol = name;
  }
  return { ok: true, value: symbol === undefined ? { displacement } : { displacement, symbol } };
}

function parseRegister(text: string): ElfResult<X86Register> {
  const register = text.startsWith("%") ? x86Register(text.slice(1)) : undefined;
  return register === undefined
    ? { ok: false, message: `unknown register '${text}'` }
    : { ok: true, value: register };
}

/** Decimal or 0x-hexadecimal, with an optional sign; null when it is not one. */
function parseInteger(text: string): bigint | null {
  const match = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(text.trim());
  if (match === null) return null;
  const magnitude = BigInt(match[2]);
  return match[1] === "-" ? -magnitude : magnitude;
}

/** A short reading of an argument for listings: "s32 in %eax", "u64 at 8+lt_wide(%rip)". */
export function describeUsdtArgument(argument: UsdtArgument): string {
  const type = `${argument.signed ? "s" : "u"}${argument.size * 8}`;
  const operand = argument.text.replace(/^-?\d+@/, "");
  const location = argument.location;
  if (location.kind === "constant") return `${type} constant ${location.value}`;
  if (location.kind === "register") return `${type} in ${operand}`;
  return `${type} at ${operand}`;
}
