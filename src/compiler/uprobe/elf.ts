// An ELF64 little-endian reader: the header, program headers (virtual address → file
// offset, the translation uprobes need), section headers and raw section bytes. Reads only
// the parts asked for, with positional reads, so a 10 MB server binary costs a few pages.
// Symbols live in elf-symbols.ts, USDT notes in usdt-notes.ts.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
/** Segment flag: executable. */
export const PF_X = 1;
export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  fileSize: number;
  memSize: number;
}

export interface SectionHeader {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  /** Index of the associated section (a symbol table's string table). */
  link: number;
  entrySize: number;
}

export type ElfResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** An open ELF64 little-endian file; close() when done (or use withElf). */
export class ElfFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly fileSize: number,
    /** ET_EXEC (non-PIE executable) or ET_DYN (PIE executable, shared library). */
    readonly type: number,
    readonly machine: number,
    readonly segments: readonly ProgramHeader[],
    readonly sections: readonly SectionHeader[],
  ) {}

  /** Opens and checks `path`; a missing file or a non-ELF64-LE one is an error value. */
  static open(path: string): ElfResult<ElfFile> {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      return { ok: false, message: `cannot open ${path}: ${describeFsError(error)}` };
    }
    try {
      const parsed = ElfFile.parse(path, fd);
      if (!parsed.ok) closeSync(fd);
      return parsed;
    } catch (error) {
      closeSync(fd);
      return { ok: false, message: `${path}: ${describeFsError(error)}` };
    }
  }

  private static parse(path: string, fd: number): ElfResult<ElfFile> {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, message: `${path} is not a regular file` };
    const header = readAt(fd, 0, 64);
    const ident = header.subarray(0, 4).toString("latin1");
    if (header.length < 64 || ident !== "\x7fELF")
      return { ok: false, message: `${path} is not an ELF file` };
    if (header[4] !== 2 || header[5] !== 1)
      return { ok: false, message: `${path} is not a 64-bit little-endian ELF file` };
    const type = header.readUInt16LE(16);
    const machine = header.readUInt16LE(18);
    if (type !== ET_EXEC && type !== ET_DYN)
      return { ok: false, message: `${path} is neither an executable nor a shared library` };
    if (machine !== EM_X86_64)
      return {
        ok: false,
        message: `${path} is built for another machine (e_machine ${machine}), not x86-64`,
      };
    const segments = readSegments(fd, header, stat.size);
    const sections = readSections(fd, header, stat.size);
    return { ok: true, value: new ElfFile(path, fd, stat.size, type, machine, segments, sections) };
  }

  close(): void {
    closeSync(this.fd);
  }

  section(name: string): SectionHeader | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The bytes of a section (empty for SHT_NOBITS such as .bss). */
  sectionBytes(section: SectionHeader): Buffer {
    if (section.type === SHT_NOBITS) return Buffer.alloc(0);
    return readTable(this.fd, section.offset, section.size, this.fileSize);
  }

  /**
   * The file offset of virtual address `vaddr`: the uprobe PMU and uprobe_events take file
   * offsets, and PIE executables, non-PIE ones and libraries all map their PT_LOAD segments
   * at p_vaddr − p_offset apart. Null when no loaded segment backs the address in the file.
   */
  fileOffset(vaddr: number): number | null {
    const segment = this.loadSegmentOf(vaddr);
    return segment === undefined ? null : vaddr - segment.vaddr + segment.offset;
  }

  /** The PT_LOAD segment whose file-backed part holds `vaddr`. */
  loadSegmentOf(vaddr: number): ProgramHeader | undefined {
    return this.segments.find(
      (s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.fileSize,
    );
  }
}

/** Runs fn on the opened file and closes it, whatever happens. */
export function withElf<T>(path: string, fn: (elf: ElfFile) => ElfResult<T>): ElfResult<T> {
  const opened = ElfFile.open(path);
  if (!opened.ok) return opened;
  try {
    return fn(opened.value);
  } catch (error) {
    // The readers check their bounds (test/uprobe/elf-fuzz.test.ts); this is the last guard.
    return { ok: false, message: `${path}: malformed ELF file (${(error as Error).message})` };
  } finally {
    opened.value.close();
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(Math.max(0, length));
  let done = 0;
  while (done < buffer.length) {
    const n = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

/** A table's bytes, never more than the file holds (a corrupt header cannot ask for 4 GB). */
function readTable(fd: number, offset: number, length: number, fileSize: number): Buffer {
  if (offset >= fileSize) return Buffer.alloc(0);
  return readAt(fd, offset, Math.min(length, fileSize - offset));
}

function readSegments(fd: number, header: Buffer, fileSize: number): ProgramHeader[] {
  const offset = Number(header.readBigUInt64LE(32));
  const entrySize = header.readUInt16LE(54);
  const count = header.readUInt16LE(56);
  if (entrySize < 56) return [];
  const table = readTable(fd, offset, entrySize * count, fileSize);
  const segments: ProgramHeader[] = [];
  for (let at = 0; at + 56 <= table.length; at += entrySize) {
    segments.push({
      type: table.readUInt32LE(at),
      flags: table.readUInt32LE(at + 4),
      offset: Number(table.readBigUInt64LE(at + 8)),
      vaddr: Number(table.readBigUInt64LE(at + 16)),
      fileSize: Number(table.readBigUInt64LE(at + 32)),
      memSize: Number(table.readBigUInt64LE(at + 40)),
    });
  }
  return segments;
}

function readSections(fd: number, header: Buffer, fileSize: number): SectionHeader[] {
  const offset = Number(header.readBigUInt64LE(40));
  const entrySize = header.readUInt16LE(58);
  const count = header.readUInt16LE(60);
  const namesIndex = header.readUInt16LE(62);
  if (offset === 0 || count === 0 || entrySize < 64) return [];
  const table = readTable(fd, offset, entrySize * count, fileSize);
  const raw = [];
  for (let at = 0; at + 64 <= table.length; at += entrySize) {
    raw.push({
      nameOffset: table.readUInt32LE(at),
      type: table.readUInt32LE(at + 4),
      addr: Number(table.readBigUInt64LE(at + 16)),
      offset: Number(table.readBigUInt64LE(at + 24)),
      size: Number(table.readBigUInt64LE(at + 32)),
      link: table.readUInt32LE(at + 40),
      entrySize: Number(table.readBigUInt64LE(at + 56)),
    });
  }
  const names = raw[namesIndex];
  const strings =
    names === undefined ? Buffer.alloc(0) : readTable(fd, names.offset, names.size, fileSize);
  return raw.map(({ nameOffset, ...rest }) => ({ name: cString(strings, nameOffset), ...rest }));
}

/** The NUL-terminated string at `offset` of a string table. */
export function cString(table: Buffer, offset: number): string {
  if (offset >= table.length) return "";
  const end = table.indexOf(0, offset);
  return table.toString("latin1", offset, end < 0 ? table.length : end);
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return code ?? (error as Error).message;
}
