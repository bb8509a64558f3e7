// USDT probes (`sys/sdt.h`, `.note.stapsdt`): each note gives the probe's address, the
// address of `.stapsdt.base` at link time, its semaphore's address (0: none), provider,
// name and argument string. Prelink may move sections after the notes were written; the
// difference between `.stapsdt.base`'s address now and then moves the pc and the semaphore
// with it (sdt.h's own documented rule).

import { cString, type ElfFile, type ElfResult } from "./elf.ts";
import { parseUsdtArguments, type UsdtArgument } from "./usdt-args.ts";

const NT_STAPSDT = 3;

export interface UsdtProbe {
  provider: string;
  name: string;
  /** Virtual address of the probe's nop, after the base adjustment. */
  address: number;
  /** File offset of that address: what a uprobe attaches to. */
  fileOffset: number;
  /** Virtual address of the semaphore (unsigned short), 0 when the probe has none. */
  semaphore: number;
  /** File offset of the semaphore, the uprobe PMU's ref_ctr_offset; 0 when none. */
  semaphoreOffset: number;
  /** The argument string as written in the note: "-4@%eax 8@-16(%rbp)". */
  argumentText: string;
  /** Decoded arguments, or why they could not be decoded. */
  arguments: ElfResult<UsdtArgument[]>;
}

/** The binary's USDT probes in note order; none when it has no `.note.stapsdt`. */
export function readUsdtProbes(elf: ElfFile): ElfResult<UsdtProbe[]> {
  const notes = elf.section(".note.stapsdt");
  if (notes === undefined) return { ok: true, value: [] };
  const base = elf.section(".stapsdt.base");
  const probes: UsdtProbe[] = [];
  for (const note of splitNotes(elf.sectionBytes(notes))) {
    if (note.type !== NT_STAPSDT || note.name !== "stapsdt") continue;
    const probe = decodeNote(elf, note.desc, base?.addr);
    if (!probe.ok) return { ok: false, message: `${elf.path}: ${probe.message}` };
    probes.push(probe.value);
  }
  return { ok: true, value: probes };
}

interface Note {
  name: string;
  type: number;
  desc: Buffer;
}

/** Elf64_Nhdr records: namesz, descsz, type, then name and desc, each padded to 4 bytes. */
function splitNotes(bytes: Buffer): Note[] {
  const notes: Note[] = [];
  const align4 = (n: number) => Math.ceil(n / 4) * 4; // not (n + 3) & ~3: sizes are u32
  for (let at = 0; at + 12 <= bytes.length; ) {
    const nameSize = bytes.readUInt32LE(at);
    const descSize = bytes.readUInt32LE(at + 4);
    const type = bytes.readUInt32LE(at + 8);
    const nameStart = at + 12;
    const descStart = nameStart + align4(nameSize);
    if (descStart + descSize > bytes.length) break;
    notes.push({
      name: cString(bytes.subarray(nameStart, nameStart + nameSize), 0),
      type,
      desc: bytes.subarray(descStart, descStart + descSize),
    });
    at = descStart + align4(descSize);
  }
  return notes;
}

function decodeNote(elf: ElfFile, desc: Buffer, baseNow: number | undefined): ElfResult<UsdtProbe> {
  if (desc.length < 24) return { ok: false, message: "truncated .note.stapsdt entry" };
  const pc = Number(desc.readBigUInt64LE(0));
  const baseThen = Number(desc.readBigUInt64LE(8));
  const semaphoreThen = Number(desc.readBigUInt64LE(16));
  const provider = cString(desc, 24);
  const nameStart = 24 + Buffer.byteLength(provider, "latin1") + 1;
  const name = cString(desc, nameStart);
  const argumentText = cString(desc, nameStart + Buffer.byteLength(name, "latin1") + 1).trim();
  // A note written before prelink moved the sections: shift by how far the base moved.
  const shift = baseNow !== undefined && baseThen !== 0 ? baseNow - baseThen : 0;
  const address = pc + shift;
  const semaphore = semaphoreThen === 0 ? 0 : semaphoreThen + shift;
  const fileOffset = elf.fileOffset(address);
  if (fileOffset === null)
    return {
      ok: false,
      message: `USDT probe ${provider}:${name} lies outside the loaded segments`,
    };
  const semaphoreOffset = semaphore === 0 ? 0 : elf.fileOffset(semaphore);
  if (semaphoreOffset === null)
    return {
      ok: false,
      message: `the semaphore of USDT probe ${provider}:${name} lies outside the file's data`,
    };
  return {
    ok: true,
    value: {
      provider,
      name,
      address,
      fileOffset,
      semaphore,
      semaphoreOffset,
      argumentText,
      arguments: parseUsdtArguments(argumentText),
    },
  };
}
