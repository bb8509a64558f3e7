// The disassembler: one line per instruction in the verifier log's C-like syntax,
// `N: op ; source`, numbered by slot so that verifier messages ("17: ...") line up.

import type { Assembled } from "./asm.ts";
import { helperName } from "./helpers.ts";
import {
  accessSize,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_EXIT,
  BPF_JA,
  BPF_JMP,
  BPF_JMP32,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MOV,
  BPF_NEG,
  BPF_ST,
  BPF_STX,
  BPF_XCHG,
  type Insn,
} from "./insn.ts";

const aluSymbols: Record<number, string> = {
  0: "+=",
  16: "-=",
  32: "*=",
  48: "/=",
  64: "|=",
  80: "&=",
  96: "<<=",
  112: ">>=",
  144: "%=",
  160: "^=",
  192: "s>>=",
};

const jumpSymbols: Record<number, string> = {
  16: "==",
  32: ">",
  48: ">=",
  64: "&",
  80: "!=",
  96: "s>",
  112: "s>=",
  160: "<",
  176: "<=",
  192: "s<",
  208: "s<=",
};

function hex(n: number | bigint): string {
  const v = typeof n === "bigint" ? n : BigInt(n);
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function signedOffset(offset: number): string {
  return offset < 0 ? `${offset}` : `+${offset}`;
}

/** The text of one instruction, without its number or source comment. */
export function formatInsn(i: Insn): string {
  const cls = i.opcode & 0x07;
  const op = i.opcode & 0xf0;
  const fromReg = (i.opcode & 0x08) !== BPF_K;
  const r = (n: number) => `r${n}`;
  if (cls === BPF_ALU64 || cls === BPF_ALU) {
    const reg = (n: number) => (cls === BPF_ALU ? `w${n}` : `r${n}`);
    const operand = fromReg ? reg(i.src) : hex(i.imm);
    if (op === BPF_MOV) return `${reg(i.dst)} = ${operand}`;
    if (op === BPF_NEG) return `${reg(i.dst)} = -${reg(i.dst)}`;
    return `${reg(i.dst)} ${aluSymbols[op] ?? `alu(${hex(op)})`} ${operand}`;
  }
  const size = `u${accessSize(i.opcode) * 8}`;
  if (cls === BPF_LDX) return `${r(i.dst)} = *(${size} *)(${r(i.src)} ${signedOffset(i.offset)})`;
  if (cls === BPF_STX && (i.opcode & 0xe0) === BPF_ATOMIC) {
    const at = `*(${size} *)(${r(i.dst)} ${signedOffset(i.offset)})`;
    if (i.imm === BPF_CMPXCHG) return `r0 = cmpxchg(${at}, r0, ${r(i.src)})`;
    if (i.imm === BPF_XCHG) return `${r(i.src)} = xchg(${at}, ${r(i.src)})`;
    return `atomic(${hex(i.imm)}) ${at}, ${r(i.src)}`;
  }
  if (cls === BPF_STX) return `*(${size} *)(${r(i.dst)} ${signedOffset(i.offset)}) = ${r(i.src)}`;
  if (cls === BPF_ST) return `*(${size} *)(${r(i.dst)} ${signedOffset(i.offset)}) = ${hex(i.imm)}`;
  if (cls === BPF_LD && i.imm64 !== undefined) {
    if (i.mapRef !== undefined) return `${r(i.dst)} = map[${i.mapRef}] ll`;
    return `${r(i.dst)} = ${hex(i.imm64)} ll`;
  }
  if (cls === BPF_JMP || cls === BPF_JMP32) {
    if (op === BPF_CALL) return `call ${helperName(i.imm)}#${i.imm}`;
    if (op === BPF_EXIT) return "exit";
    const where = `goto ${signedOffset(i.offset)}${i.target !== undefined ? ` <${i.target}>` : ""}`;
    if (op === BPF_JA) return where;
    const operand = fromReg ? r(i.src) : hex(i.imm);
    const left = cls === BPF_JMP32 ? `w${i.dst}` : r(i.dst);
    return `if ${left} ${jumpSymbols[op] ?? `jmp(${hex(op)})`} ${operand} ${where}`;
  }
  return `.insn ${hex(i.opcode)} ${i.dst} ${i.src} ${i.offset} ${i.imm}`;
}

/**
 * The listing of an assembled program: labels on their own line, each instruction as
 * `N: op`, and the `.lt` source as a `; comment` whenever it changes.
 */
export function disassemble(program: Assembled): string {
  const lines: string[] = [];
  let lastSource: string | undefined;
  program.insns.forEach((i, index) => {
    for (const label of i.labels ?? []) lines.push(`${label}:`);
    const text = `${String(program.slots[index]).padStart(4)}: ${formatInsn(i)}`;
    if (i.source !== undefined && i.source !== lastSource) {
      lines.push(`${text.padEnd(48)} ; ${i.source}`);
      lastSource = i.source;
    } else {
      lines.push(text);
    }
  });
  return lines.join("\n");
}

/** The instruction at a verifier slot number, for mapping a verifier error to `.lt` source. */
export function insnAtSlot(program: Assembled, slot: number): Insn | undefined {
  const index = program.slots.indexOf(slot);
  return index >= 0 ? program.insns[index] : undefined;
}
