// Where `uprobe:PATH:SPEC` attaches: SPEC is a function name, `SYMBOL+OFFSET` (decimal or
// 0x…) or a virtual address `0xADDRESS`; the answer is the address and its file offset.
// Unknown names come back with "did you mean" suggestions.

import { suggest } from "../suggest.ts";
import { type ElfFile, type ElfResult, PF_X } from "./elf.ts";
import { type ElfSymbol, readFunctions } from "./elf-symbols.ts";

export interface UprobeLocation {
  /** The function, when SPEC named one (an address inside a known function gets it too). */
  symbol?: string;
  /** Bytes from the function's start. */
  offsetInSymbol: number;
  /** Virtual address in the file's own layout (before any load bias). */
  address: number;
  /** What the uprobe PMU's config2 and uprobe_events take. */
  fileOffset: number;
  /**
   * The symbol is a GNU indirect function: a probe there sees its resolver run (once, at
   * load), not the calls; the checker should warn and suggest the implementation's name.
   */
  indirect?: true;
}

/** Resolves SPEC in `elf`; `functions` may be passed when the caller already read them. */
export function locateUprobe(
  elf: ElfFile,
  spec: string,
  functions: readonly ElfSymbol[] = readFunctions(elf),
): ElfResult<UprobeLocation> {
  if (/^0x[0-9a-f]+$/i.test(spec)) return locateAddress(elf, Number(spec), functions);
  const match = /^(.+?)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(spec);
  const name = match?.[1] ?? spec;
  const offset = match?.[2] === undefined ? 0 : Number(match[2]);
  const found = findFunction(elf, name, functions);
  if (!found.ok) return found;
  const symbol = found.value;
  if (symbol.size > 0 && offset >= symbol.size)
    return {
      ok: false,
      message: `offset ${offset} is beyond '${name}' (${symbol.size} bytes) in ${elf.path}`,
    };
  const placed = place(elf, symbol.address + offset, name, offset);
  return placed.ok && symbol.indirect
    ? { ok: true, value: { ...placed.value, indirect: true } }
    : placed;
}

/** The one function called `name`; aliases at one address count as one. */
export function findFunction(
  elf: ElfFile,
  name: string,
  functions: readonly ElfSymbol[],
): ElfResult<ElfSymbol> {
  const all = functions.filter((f) => f.name === name);
  // Old versions of a versioned name give way to the default one (memcpy@@GLIBC_2.14).
  const current = all.filter((f) => !f.hiddenVersion);
  const matches = current.length > 0 ? current : all;
  const addresses = [...new Set(matches.map((f) => f.address))];
  if (addresses.length === 1) return { ok: true, value: matches[0] };
  if (addresses.length > 1) {
    const where = addresses.map((a) => `0x${a.toString(16)}`).join(", ");
    return {
      ok: false,
      message: `'${name}' names ${addresses.length} functions in ${elf.path} (at ${where}): use uprobe:PATH:0xADDRESS`,
    };
  }
  const close = suggest(name, new Set(functions.map((f) => f.name)));
  const hint = close.length > 0 ? `; did you mean ${close.map((c) => `'${c}'`).join(" or ")}?` : "";
  const stripped =
    elf.section(".symtab") === undefined ? " (stripped: only exported functions are known)" : "";
  return { ok: false, message: `no function '${name}' in ${elf.path}${stripped}${hint}` };
}

function locateAddress(
  elf: ElfFile,
  address: number,
  functions: readonly ElfSymbol[],
): ElfResult<UprobeLocation> {
  const inside = functions.find((f) => address >= f.address && address < f.address + f.size);
  return place(elf, address, inside?.name, inside ? address - inside.address : 0);
}

function place(
  elf: ElfFile,
  address: number,
  symbol: string | undefined,
  offsetInSymbol: number,
): ElfResult<UprobeLocation> {
  const segment = elf.loadSegmentOf(address);
  if (segment === undefined || (segment.flags & PF_X) === 0) {
    return {
      ok: false,
      message: `address 0x${address.toString(16)} is not in an executable segment of ${elf.path}`,
    };
  }
  const fileOffset = address - segment.vaddr + segment.offset;
  return {
    ok: true,
    value: { ...(symbol !== undefined ? { symbol } : {}), offsetInSymbol, address, fileOffset },
  };
}
