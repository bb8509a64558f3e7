// The BPF instruction as one plain value, the kernel's opcode constants, and tiny pure
// builders named after the operation (`Add.imm(R1, 22)`, `JGT.reg(R3, R2, "out")`).

/** Registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee-saved, R10 frame pointer. */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Register = 0;
export const R1: Register = 1;
export const R2: Register = 2;
export const R3: Register = 3;
export const R4: Register = 4;
export const R5: Register = 5;
export const R6: Register = 6;
export const R7: Register = 7;
export const R8: Register = 8;
export const R9: Register = 9;
export const R10: Register = 10;
export const FP = R10;

// Instruction classes (low 3 bits of the opcode).
export const BPF_LD = 0x00; // wide immediates (ld_imm64)
export const BPF_LDX = 0x01; // load from memory into a register
export const BPF_ST = 0x02; // store an immediate to memory
export const BPF_STX = 0x03; // store a register to memory
export const BPF_ALU = 0x04; // 32-bit arithmetic (upper half zeroed)
export const BPF_JMP = 0x05; // 64-bit compares, call, exit
export const BPF_JMP32 = 0x06; // 32-bit compares
export const BPF_ALU64 = 0x07; // 64-bit arithmetic

// Memory access sizes.
export const BPF_W = 0x00; // 4 bytes
export const BPF_H = 0x08; // 2 bytes
export const BPF_B = 0x10; // 1 byte
export const BPF_DW = 0x18; // 8 bytes

// Memory modes.
export const BPF_IMM = 0x00; // ld_imm64
export const BPF_MEM = 0x60; // regular load/store

// Operand source.
export const BPF_K = 0x00; // 32-bit immediate, sign-extended
export const BPF_X = 0x08; // source register

// ALU operations.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30; // unsigned
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70; // logical
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90; // unsigned
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0; // arithmetic (sign-preserving)

// Jump operations.
export const BPF_JA = 0x00; // always
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20; // unsigned >
export const BPF_JGE = 0x30; // unsigned >=
export const BPF_JSET = 0x40; // dst & src != 0
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60; // signed >
export const BPF_JSGE = 0x70; // signed >=
export const BPF_CALL = 0x80; // helper call, imm = helper id
export const BPF_EXIT = 0x90; // return R0
export const BPF_JLT = 0xa0; // unsigned <
export const BPF_JLE = 0xb0; // unsigned <=
export const BPF_JSLT = 0xc0; // signed <
export const BPF_JSLE = 0xd0; // signed <=

/** src_reg of an ld_imm64 whose immediate is a map file descriptor. */
export const BPF_PSEUDO_MAP_FD = 1;

export type Size = 1 | 2 | 4 | 8;
const sizeBits: Record<Size, number> = { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW };

/**
 * One instruction. `imm64` marks the two-slot ld_imm64; `target` names the label a jump
 * goes to (resolved by the assembler into `offset`); `mapRef` names the map whose fd the
 * loader patches in; `labels` are the names other jumps use for this instruction; `source`
 * is the `.lt` text it came from, printed by the disassembler.
 */
export interface Insn {
  opcode: number;
  dst: Register;
  src: number;
  offset: number;
  imm: number;
  imm64?: bigint;
  target?: string;
  mapRef?: string;
  labels?: readonly string[];
  source?: string;
}

function insn(opcode: number, dst: Register, src: number, offset: number, imm: number): Insn {
  return { opcode, dst, src, offset, imm };
}

function aluOp(op: number) {
  return {
    imm: (dst: Register, value: number): Insn => insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, value),
    reg: (dst: Register, src: Register): Insn => insn(BPF_ALU64 | op | BPF_X, dst, src, 0, 0),
    imm32: (dst: Register, value: number): Insn => insn(BPF_ALU | op | BPF_K, dst, 0, 0, value),
    reg32: (dst: Register, src: Register): Insn => insn(BPF_ALU | op | BPF_X, dst, src, 0, 0),
  };
}

export const Add = aluOp(BPF_ADD);
export const Sub = aluOp(BPF_SUB);
export const Mul = aluOp(BPF_MUL);
export const Or = aluOp(BPF_OR);
export const And = aluOp(BPF_AND);
export const Xor = aluOp(BPF_XOR);
export const LSh = aluOp(BPF_LSH);
export const RSh = aluOp(BPF_RSH);
export const ArSh = aluOp(BPF_ARSH);
export const Mov = aluOp(BPF_MOV);

/** dst = -dst */
export function neg(dst: Register): Insn {
  return insn(BPF_ALU64 | BPF_NEG | BPF_K, dst, 0, 0, 0);
}

function jumpOp(op: number) {
  return {
    imm: (dst: Register, value: number, target: string): Insn => ({
      ...insn(BPF_JMP | op | BPF_K, dst, 0, 0, value),
      target,
    }),
    reg: (dst: Register, src: Register, target: string): Insn => ({
      ...insn(BPF_JMP | op | BPF_X, dst, src, 0, 0),
      target,
    }),
  };
}

export const JEq = jumpOp(BPF_JEQ);
export const JNE = jumpOp(BPF_JNE);
export const JGT = jumpOp(BPF_JGT);
export const JGE = jumpOp(BPF_JGE);
export const JLT = jumpOp(BPF_JLT);
export const JLE = jumpOp(BPF_JLE);
export const JSGT = jumpOp(BPF_JSGT);
export const JSGE = jumpOp(BPF_JSGE);
export const JSLT = jumpOp(BPF_JSLT);
export const JSLE = jumpOp(BPF_JSLE);
export const JSet = jumpOp(BPF_JSET);

function jump32Op(op: number) {
  return {
    imm: (dst: Register, value: number, target: string): Insn => ({
      ...insn(BPF_JMP32 | op | BPF_K, dst, 0, 0, value | 0),
      target,
    }),
    reg: (dst: Register, src: Register, target: string): Insn => ({
      ...insn(BPF_JMP32 | op | BPF_X, dst, src, 0, 0),
      target,
    }),
  };
}

/** 32-bit compares of the low halves (JMP32 class). */
export const JEq32 = jump32Op(BPF_JEQ);
export const JNE32 = jump32Op(BPF_JNE);

/** Unconditional jump to a label. */
export function ja(target: string): Insn {
  return { ...insn(BPF_JMP | BPF_JA, R0, 0, 0, 0), target };
}

/** dst = *(size *)(src + offset) */
export function loadMem(dst: Register, src: Register, offset: number, size: Size): Insn {
  return insn(BPF_LDX | BPF_MEM | sizeBits[size], dst, src, offset, 0);
}

/** *(size *)(dst + offset) = src */
export function storeMem(dst: Register, offset: number, src: Register, size: Size): Insn {
  return insn(BPF_STX | BPF_MEM | sizeBits[size], dst, src, offset, 0);
}

/** *(size *)(dst + offset) = value (a 32-bit immediate, sign-extended for 8-byte stores) */
export function storeImm(dst: Register, offset: number, value: number, size: Size): Insn {
  return insn(BPF_ST | BPF_MEM | sizeBits[size], dst, 0, offset, value);
}

/** dst = a 64-bit constant: the two-slot instruction. */
export function ldImm64(dst: Register, value: bigint): Insn {
  const bits = BigInt.asUintN(64, value);
  const low = Number(BigInt.asIntN(32, bits));
  return { ...insn(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, low), imm64: bits };
}

/** dst = the map named `name`; its fd is patched in by the loader. */
export function ldMapFd(dst: Register, name: string): Insn {
  return {
    ...insn(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, 0),
    imm64: 0n,
    mapRef: name,
  };
}

/** Call a helper by its id (see helpers.ts); arguments in R1-R5, result in R0. */
export function call(helper: number): Insn {
  return insn(BPF_JMP | BPF_CALL, R0, 0, 0, helper);
}

export function exit(): Insn {
  return insn(BPF_JMP | BPF_EXIT, R0, 0, 0, 0);
}

export const BPF_ATOMIC = 0xc0; // atomic memory operation, imm = the operation
export const BPF_FETCH = 0x01; // the operation returns the old value
export const BPF_XCHG = 0xe0 | BPF_FETCH; // src = xchg(*(dst + off), src)
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH; // r0 = cmpxchg(*(dst + off), r0, src)

/** 64-bit compare-and-exchange: if *(dst+off) == r0 then *(dst+off) = src; r0 = the old value. */
export function cmpxchg(dst: Register, offset: number, src: Register): Insn {
  return insn(BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, offset, BPF_CMPXCHG);
}

/** 64-bit exchange (a full barrier): src = the old *(dst+off), *(dst+off) = the old src. */
export function xchg(dst: Register, offset: number, src: Register): Insn {
  return insn(BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, offset, BPF_XCHG);
}

/** 64-bit atomic add returning the old value: src = the old *(dst+off), *(dst+off) += src. */
export function fetchAdd(dst: Register, offset: number, src: Register): Insn {
  return insn(BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, offset, BPF_ADD | BPF_FETCH);
}

/** Size in 8-byte slots: ld_imm64 takes two. */
export function slotCount(i: Insn): number {
  return i.imm64 !== undefined ? 2 : 1;
}

/** The access size of a load or store opcode, in bytes. */
export function accessSize(opcode: number): Size {
  const bits = opcode & 0x18;
  return bits === BPF_B ? 1 : bits === BPF_H ? 2 : bits === BPF_W ? 4 : 8;
}
