// x86-64 general-purpose registers in every width, mapped to where a uprobe program finds
// them: the offset of the full register in `struct pt_regs` (arch/x86/include/asm/ptrace.h)
// and the name uprobe_events fetch arguments use (`%ax`, `%r8`).

export interface X86Register {
  /** As written in assembly, without the %: "eax", "r8b", "ah". */
  name: string;
  /** The full register's name in uprobe_events fetch arguments: "ax", "r8", "ip". */
  fullName: string;
  /** Byte offset of the full 64-bit register in struct pt_regs. */
  ptRegsOffset: number;
  /** Width of this name in bytes. */
  width: 1 | 2 | 4 | 8;
  /** 8 for the high-byte registers (%ah, %bh, %ch, %dh), else 0. */
  bitOffset: 0 | 8;
}

/** struct pt_regs on x86-64, in order: r15 at 0 … ss at 160. */
const PT_REGS = [
  "r15",
  "r14",
  "r13",
  "r12",
  "bp",
  "bx",
  "r11",
  "r10",
  "r9",
  "r8",
  "ax",
  "cx",
  "dx",
  "si",
  "di",
  "orig_ax",
  "ip",
  "cs",
  "flags",
  "sp",
  "ss",
] as const;

/** The four legacy registers with high bytes: rax eax ax al ah. */
const LEGACY_ABCD = ["a", "b", "c", "d"];
/** si, di, bp, sp: rsi esi si sil. */
const LEGACY_INDEX = ["si", "di", "bp", "sp"];

/** The struct pt_regs member at `offset` ("ax", "r12", "ip"): how kernel C names it. */
export function ptRegsMember(offset: number): string {
  const member = PT_REGS[offset / 8];
  if (member === undefined || offset % 8 !== 0) throw new Error(`no pt_regs member at ${offset}`);
  return member;
}

function offsetOf(fullName: string): number {
  return PT_REGS.indexOf(fullName as (typeof PT_REGS)[number]) * 8;
}

function buildTable(): Map<string, X86Register> {
  const table = new Map<string, X86Register>();
  const add = (name: string, fullName: string, width: 1 | 2 | 4 | 8, bitOffset: 0 | 8 = 0) =>
    table.set(name, { name, fullName, ptRegsOffset: offsetOf(fullName), width, bitOffset });
  for (const l of LEGACY_ABCD) {
    const full = `${l}x`;
    add(`r${l}x`, full, 8);
    add(`e${l}x`, full, 4);
    add(`${l}x`, full, 2);
    add(`${l}l`, full, 1);
    add(`${l}h`, full, 1, 8);
  }
  for (const r of LEGACY_INDEX) {
    add(`r${r}`, r, 8);
    add(`e${r}`, r, 4);
    add(r, r, 2);
    add(`${r}l`, r, 1);
  }
  for (let n = 8; n <= 15; n++) {
    const full = `r${n}`;
    add(full, full, 8);
    add(`${full}d`, full, 4);
    add(`${full}w`, full, 2);
    add(`${full}b`, full, 1);
    add(`${full}l`, full, 1); // Intel's spelling of the low byte
  }
  add("rip", "ip", 8);
  add("eip", "ip", 4);
  return table;
}

const REGISTERS = buildTable();

/** The register named `name` (without %), or undefined. */
export function x86Register(name: string): X86Register | undefined {
  return REGISTERS.get(name.toLowerCase());
}

/** struct pt_regs offset of the i-th integer argument of the SysV calling convention. */
export const ARGUMENT_REGISTERS = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"].map(
  (name) => REGISTERS.get(name)!,
);

/** The register holding a function's return value (uretprobe `retval`). */
export const RETURN_REGISTER = REGISTERS.get("rax")!;
