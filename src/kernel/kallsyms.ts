// Kernel addresses to "function+0xoffset" through /proc/kallsyms, for `then stack` hits.
// Kernel text lives above 0xffff000000000000, so offsets from there are exact doubles.

import { readFileSync } from "node:fs";

const KERNEL_BASE = 0xffff000000000000n;
/** Text symbols: code a stack can point into (t/T; w/W weak ones too). */
const TEXT_TYPES = new Set(["t", "T", "w", "W"]);

export class KernelSymbols {
  private constructor(
    /** Sorted offsets from KERNEL_BASE. */
    private readonly starts: Float64Array,
    private readonly names: string[],
  ) {}

  /** Reads /proc/kallsyms (about 100 ms); addresses are zero without root (kptr_restrict). */
  static load(path = "/proc/kallsyms"): KernelSymbols {
    return KernelSymbols.parse(readFileSync(path, "utf8"));
  }

  static parse(text: string): KernelSymbols {
    const entries: { start: number; name: string }[] = [];
    for (const line of text.split("\n")) {
      // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[module]"
      if (line.length < 20 || !line.startsWith("ffff")) continue;
      const type = line[17];
      if (!TEXT_TYPES.has(type)) continue;
      const rest = line.slice(19);
      const tab = rest.indexOf("\t");
      const name = tab < 0 ? rest : `${rest.slice(0, tab)} ${rest.slice(tab + 1)}`;
      entries.push({ start: Number.parseInt(line.slice(4, 16), 16), name });
    }
    entries.sort((a, b) => a.start - b.start);
    return new KernelSymbols(
      Float64Array.from(entries, (e) => e.start),
      entries.map((e) => e.name),
    );
  }

  get size(): number {
    return this.names.length;
  }

  /** "func+0x1a" ("func+0x1a [module]" in modules); the address in hex when unknown. */
  resolve(addr: bigint): string {
    const hex = `0x${addr.toString(16)}`;
    if (addr < KERNEL_BASE || this.starts.length === 0) return hex;
    const offset = Number(addr - KERNEL_BASE);
    const i = this.lastAtOrBefore(offset);
    if (i < 0) return hex;
    const [fn, module] = this.names[i].split(" ");
    const within = `${fn}+0x${(offset - this.starts[i]).toString(16)}`;
    return module === undefined ? within : `${within} ${module}`;
  }

  private lastAtOrBefore(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
