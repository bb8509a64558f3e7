// The assembler: resolves named labels into jump offsets in one pass after the last
// instruction, and encodes instructions into the kernel's 8-byte little-endian format.

import { BPF_PSEUDO_MAP_FD, type Insn, slotCount } from "./insn.ts";

export class AssemblyError extends Error {}

/** A program whose jumps carry resolved offsets; `slots[i]` is the slot index of insns[i]. */
export interface Assembled {
  insns: Insn[];
  slots: number[];
  slotCount: number;
}

/** Resolves every jump's label into a slot offset; fails on duplicate or missing labels. */
export function assemble(insns: readonly Insn[]): Assembled {
  const slots: number[] = [];
  const labelSlot = new Map<string, number>();
  let slot = 0;
  for (const i of insns) {
    for (const label of i.labels ?? []) {
      if (labelSlot.has(label)) throw new AssemblyError(`duplicate label '${label}'`);
      labelSlot.set(label, slot);
    }
    slots.push(slot);
    slot += slotCount(i);
  }
  const resolved = insns.map((i, index) => {
    if (i.target === undefined) return i;
    const target = labelSlot.get(i.target);
    if (target === undefined) throw new AssemblyError(`jump to missing label '${i.target}'`);
    const offset = target - (slots[index] + 1);
    if (offset < -32768 || offset > 32767) {
      throw new AssemblyError(`jump to '${i.target}' is out of range (${offset})`);
    }
    return { ...i, offset };
  });
  return { insns: resolved, slots, slotCount: slot };
}

/** Map names referenced by ld_imm64 instructions, in first-use order. */
export function mapReferences(insns: readonly Insn[]): string[] {
  return [...new Set(insns.flatMap((i) => (i.mapRef !== undefined ? [i.mapRef] : [])))];
}

/**
 * Encodes an assembled program. Map references take their fd from `mapFds`; without one
 * (a dump, a golden test) the fd is left 0.
 */
export function encode(program: Assembled, mapFds?: ReadonlyMap<string, number>): Uint8Array {
  const bytes = new Uint8Array(program.slotCount * 8);
  const view = new DataView(bytes.buffer);
  program.insns.forEach((i, index) => {
    const at = program.slots[index] * 8;
    let imm = i.imm;
    let high = 0;
    if (i.imm64 !== undefined) {
      high = Number(BigInt.asIntN(32, i.imm64 >> 32n));
      imm = Number(BigInt.asIntN(32, i.imm64));
    }
    if (i.mapRef !== undefined) {
      const fd = mapFds?.get(i.mapRef);
      if (mapFds && fd === undefined) throw new AssemblyError(`no fd for map '${i.mapRef}'`);
      imm = fd ?? 0;
      high = 0;
    }
    writeSlot(
      view,
      at,
      i.opcode,
      i.dst,
      i.mapRef !== undefined ? BPF_PSEUDO_MAP_FD : i.src,
      i.offset,
      imm,
    );
    if (i.imm64 !== undefined) writeSlot(view, at + 8, 0, 0, 0, 0, high);
  });
  return bytes;
}

function writeSlot(
  view: DataView,
  at: number,
  opcode: number,
  dst: number,
  src: number,
  offset: number,
  imm: number,
): void {
  view.setUint8(at, opcode);
  view.setUint8(at + 1, (dst & 0xf) | ((src & 0xf) << 4));
  view.setInt16(at + 2, offset, true);
  view.setInt32(at + 4, imm | 0, true);
}
