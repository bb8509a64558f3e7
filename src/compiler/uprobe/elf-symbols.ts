// Function symbols of an ELF file, from .symtab (the full table, gone once stripped) and
// .dynsym (exported functions, kept by strip): what `uprobe:PATH:SYMBOL` names.

import {
  cString,
  type ElfFile,
  type ElfResult,
  type SectionHeader,
  SHT_DYNSYM,
  SHT_SYMTAB,
  withElf,
} from "./elf.ts";

const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0;
const SYMBOL_SIZE = 24;
/** .gnu.version: one u16 per .dynsym entry; bit 15 marks a hidden (non-default) version. */
const SHT_GNU_VERSYM = 0x6fffffff;
const VERSYM_HIDDEN = 0x8000;

export interface ElfSymbol {
  name: string;
  /** Virtual address (st_value). */
  address: number;
  /** Bytes; 0 when the object file did not say. */
  size: number;
  kind: "function" | "object";
  /**
   * A GNU indirect function (STT_GNU_IFUNC, e.g. libc's memcpy): its address is the
   * resolver, which runs once at load time, not the implementation calls reach.
   */
  indirect: boolean;
  /**
   * An old version of a versioned symbol (`memcpy@GLIBC_2.2.5` beside the default
   * `memcpy@@GLIBC_2.14`): still there for old binaries, not what a name means today.
   */
  hiddenVersion: boolean;
  /** The table it came from. */
  table: ".symtab" | ".dynsym";
}

/**
 * Defined function and data symbols of both tables, .symtab first. A name defined in both
 * at the same address (an exported function) appears once.
 */
export function readSymbols(elf: ElfFile): ElfSymbol[] {
  const seen = new Set<string>();
  const symbols: ElfSymbol[] = [];
  for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const section of elf.sections.filter((s) => s.type === type)) {
      for (const symbol of readTable(elf, section)) {
        const identity = `${symbol.name}@${symbol.address}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
        symbols.push(symbol);
      }
    }
  }
  return symbols;
}

/** Every symbol's name → virtual address (for `Symbol+8(%rip)` USDT operands). */
export function symbolAddresses(path: string): ElfResult<Map<string, number>> {
  return withElf(path, (elf) => ({
    ok: true,
    value: new Map(readSymbols(elf).map((s) => [s.name, s.address])),
  }));
}

/** Function symbols only (STT_FUNC and GNU indirect functions). */
export function readFunctions(elf: ElfFile): ElfSymbol[] {
  return readSymbols(elf).filter((s) => s.kind === "function");
}

function readTable(elf: ElfFile, section: SectionHeader): ElfSymbol[] {
  const strings = elf.sections[section.link];
  if (strings === undefined) return [];
  const names = elf.sectionBytes(strings);
  const bytes = elf.sectionBytes(section);
  const table = section.type === SHT_SYMTAB ? ".symtab" : ".dynsym";
  const versions = table === ".dynsym" ? versionsOf(elf) : Buffer.alloc(0);
  const symbols: ElfSymbol[] = [];
  for (let at = 0; at + SYMBOL_SIZE <= bytes.length; at += SYMBOL_SIZE) {
    const type = bytes[at + 4] & 0xf;
    const sectionIndex = bytes.readUInt16LE(at + 6);
    const isFunction = type === STT_FUNC || type === STT_GNU_IFUNC;
    if ((!isFunction && type !== STT_OBJECT) || sectionIndex === SHN_UNDEF) continue;
    const name = cString(names, bytes.readUInt32LE(at));
    if (name === "") continue;
    symbols.push({
      name,
      address: Number(bytes.readBigUInt64LE(at + 8)),
      size: Number(bytes.readBigUInt64LE(at + 16)),
      kind: isFunction ? "function" : "object",
      indirect: type === STT_GNU_IFUNC,
      hiddenVersion: isHidden(versions, at / SYMBOL_SIZE),
      table,
    });
  }
  return symbols;
}

function versionsOf(elf: ElfFile): Buffer {
  const section = elf.sections.find((s) => s.type === SHT_GNU_VERSYM);
  return section === undefined ? Buffer.alloc(0) : elf.sectionBytes(section);
}

function isHidden(versions: Buffer, index: number): boolean {
  return (
    2 * index + 2 <= versions.length && (versions.readUInt16LE(2 * index) & VERSYM_HIDDEN) !== 0
  );
}
