// Resolving the PATH of `uprobe:PATH:…` / `usdt:PATH:…` to the file the kernel attaches to:
// a path (absolute or relative to the working directory), a program on $PATH, or a library
// name resolved the way the dynamic loader does (`libc` → /lib/x86_64-linux-gnu/libc.so.6).
//
// Libraries are looked up in /etc/ld.so.cache, parsed here, rather than through
// `ldconfig -p`: ldconfig lives in /sbin, which is not on an ordinary user's $PATH, its
// output is meant for people, and spawning it costs a process per lookup. The cache is what
// the loader itself reads, in a format glibc has kept since 2.2 ("glibc-ld.so.cache1.1").
// Entries come in the loader's order of preference, so the first match is the loader's pick.
// Without a cache (musl) or when ldconfig has not run since a library was installed, the
// loader's default directories are searched, as the loader itself does after the cache.

import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { ElfResult } from "./elf.ts";

export const LD_SO_CACHE = "/etc/ld.so.cache";
const NEW_MAGIC = "glibc-ld.so.cache1.1";
/** flags of an x86-64 glibc library entry: FLAG_ELF_LIBC6 | FLAG_X8664_LIB64. */
const FLAG_X86_64_LIBC6 = 0x0303;
const HEADER_SIZE = 48;
/** The loader's trusted directories on x86-64 (multiarch Debian first, then the others). */
export const DEFAULT_LIBRARY_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
];
const ENTRY_SIZE = 24;

export interface CacheEntry {
  /** The soname: "libc.so.6". */
  name: string;
  path: string;
}

export interface ResolveOptions {
  cwd?: string;
  /** Colon-separated directories; default process.env.PATH. */
  searchPath?: string;
  /** The loader cache to read; default /etc/ld.so.cache. */
  cacheFile?: string;
  /** Searched after the cache; default DEFAULT_LIBRARY_DIRS. */
  libraryDirs?: readonly string[];
}

/** Where a PATH spelling points: an absolute, symlink-free path to a regular file. */
export function resolveBinary(spec: string, options: ResolveOptions = {}): ElfResult<string> {
  if (spec === "") return { ok: false, message: "empty binary path" };
  if (spec.includes("/")) {
    const path = isAbsolute(spec) ? spec : resolve(options.cwd ?? process.cwd(), spec);
    if (isRegularFile(path)) return { ok: true, value: realpathSync(path) };
    return {
      ok: false,
      message: existsSync(path) ? `${spec} is not a regular file` : `${spec}: no such file`,
    };
  }
  const lookups = looksLikeLibrary(spec)
    ? [() => findLibrary(spec, options), () => findOnPath(spec, options.searchPath)]
    : [() => findOnPath(spec, options.searchPath), () => findLibrary(spec, options)];
  for (const lookup of lookups) {
    const found = lookup();
    if (found !== null) return { ok: true, value: realpathSync(found) };
  }
  return {
    ok: false,
    message: `no program or library named '${spec}' (searched $PATH and ${options.cacheFile ?? LD_SO_CACHE})`,
  };
}

function looksLikeLibrary(name: string): boolean {
  return name.startsWith("lib") || name.includes(".so");
}

/** An executable named `name` in one of the $PATH directories, or null. */
export function findOnPath(name: string, searchPath = process.env.PATH ?? ""): string | null {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isRegularFile(candidate) && isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * The library the loader would pick for `name`: an exact soname ("libc.so.6"), or the
 * first soname that is `name` plus a ".so" suffix ("libc" → "libc.so.6"); from the cache,
 * then from the default directories.
 */
export function findLibrary(
  name: string,
  options: Pick<ResolveOptions, "cacheFile" | "libraryDirs"> = {},
): string | null {
  const entries = readLoaderCache(options.cacheFile);
  const exact = entries.find((e) => e.name === name);
  const prefixed = entries.find((e) => e.name.startsWith(`${name}.so`));
  const chosen = exact ?? prefixed;
  if (chosen !== undefined && isRegularFile(chosen.path)) return chosen.path;
  return findInDirectories(name, options.libraryDirs ?? DEFAULT_LIBRARY_DIRS);
}

/**
 * `name` itself, else its newest versioned file (`libfoo.so.2` before `libfoo.so.1`; the
 * bare `libfoo.so` is for the link editor and often a linker script), in the first dir
 * that has one.
 */
function findInDirectories(name: string, dirs: readonly string[]): string | null {
  const escaped = name.replace(/[.+]/g, "\\$&");
  const versioned = new RegExp(`^${escaped}\\.so(\\.\\d+)+$`);
  for (const dir of dirs) {
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const newest = files
      .filter((f) => versioned.test(f))
      .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
    const found = files.includes(name) ? name : newest[0];
    if (found !== undefined && isRegularFile(join(dir, found))) return join(dir, found);
  }
  return null;
}

/** The x86-64 entries of a glibc loader cache in file order; [] when it cannot be read. */
export function readLoaderCache(cacheFile = LD_SO_CACHE): CacheEntry[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return [];
  }
  // Old glibc wrote the libc5-era format first and the new one after it.
  const start = bytes.indexOf(NEW_MAGIC, 0, "latin1");
  if (start < 0 || start + HEADER_SIZE > bytes.length) return [];
  const count = bytes.readUInt32LE(start + 20);
  const entries: CacheEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + HEADER_SIZE + i * ENTRY_SIZE;
    if (at + ENTRY_SIZE > bytes.length) break;
    if (bytes.readInt32LE(at) !== FLAG_X86_64_LIBC6) continue;
    // String offsets count from the start of the new-format header.
    const name = stringAt(bytes, start + bytes.readUInt32LE(at + 4));
    const path = stringAt(bytes, start + bytes.readUInt32LE(at + 8));
    if (name !== "" && path !== "") entries.push({ name, path });
  }
  return entries;
}

function stringAt(bytes: Buffer, offset: number): string {
  if (offset >= bytes.length) return "";
  const end = bytes.indexOf(0, offset);
  return bytes.toString("utf8", offset, end < 0 ? bytes.length : end);
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
