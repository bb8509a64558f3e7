// The compiled cache of `ltsh run`: a file's trackers as their backend's artifacts (live:
// generated BPF programs; kmod: the built module), kept under ~/.cache/ltsh/compiled, so a
// repeat run loads them without the parser, checker, tracepoint catalog or code generator
// (none of which it imports).

import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, homedir, release, version } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Diagnostic } from "../compiler/diagnostic.ts";
import type { OptionValue, ProbePlan } from "../compiler/plan.ts";
import { sourceStampOf } from "../source-stamp.mjs";
import { type PackedArtifact, packArtifact, unpackArtifact } from "./compiled-pack.ts";
import { pruneCache, touch } from "./disk-cache.ts";
import type { LiveArtifact } from "./live.ts";
import type { Artifact } from "./types.ts";

/** Bumped whenever the entry's shape changes; part of the key. */
const FORMAT = 3;
const MAGIC = `ltsh-compiled ${FORMAT}`;
/** Entries kept; the least recently used go first. */
export const CACHE_ENTRIES = 64;

/** What `ltsh run` needs to start a file's trackers without compiling it. */
export interface CompiledEntry {
  /** The program's `set` options, defaults filled in (they shape the session). */
  options: Record<string, OptionValue>;
  /** Warnings of the compile, printed again on each run. */
  diagnostics: Diagnostic[];
  /** One per tracker, in the file's order. */
  artifacts: Artifact[];
}

/** Everything a compiled result depends on besides the compiler's own code. */
export interface CacheInputs {
  /** The path as given: diagnostics and source annotations name it. */
  path: string;
  bytes: Uint8Array;
  /** Options of the command line that change what is compiled. */
  flags: Record<string, string | boolean | null>;
}

export interface Identity {
  /** Which ltsh code compiles (changes with any edit of its sources). */
  code: string;
  /** Which kernel the programs were generated for (layouts from its BTF). */
  kernel: string;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ltsh", "compiled");
}

export function cacheKey(inputs: CacheInputs, identity: Identity): string {
  const text = JSON.stringify({
    format: FORMAT,
    path: inputs.path,
    source: hash106(inputs.bytes),
    flags: inputs.flags,
    code: identity.code,
    kernel: identity.kernel,
  });
  return hash106(Buffer.from(text));
}

/**
 * A 106-bit hash of bytes (two cyrb53-style 53-bit mixes, fed 32-bit words) as 28 hex digits.
 * Not cryptographic, and need not be: entries are trusted by ownership (see trusted()); this
 * tells accidents apart. node:crypto would cost a repeat run ~3 ms just to load.
 */
export function hash106(input: Uint8Array): string {
  // A copy when unaligned (new Uint8Array: Buffer's slice() would not copy).
  const bytes = input.byteOffset % 4 === 0 ? input : new Uint8Array(input);
  const count = bytes.byteLength >>> 2;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, count);
  const n = bytes.byteLength;
  let [a1, a2, b1, b2] = [0xdeadbeef ^ n, 0x41c6ce57 ^ n, 0x2545f491 ^ n, 0x9e3779b9 ^ n];
  // One loop, inlined: it runs before V8 has optimised anything.
  for (let i = 0, tail = count * 4; i < count || tail < n; i++) {
    const w = i < count ? words[i] : bytes[tail++];
    a1 = Math.imul(a1 ^ w, 2654435761);
    a2 = Math.imul(a2 ^ w, 1597334677);
    b1 = Math.imul(b1 ^ w, 2246822507);
    b2 = Math.imul(b2 ^ w, 3266489909);
  }
  return finish(a1, a2) + finish(b1, b2);
}

function finish(a: number, b: number): string {
  const h1 = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  const h2 = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/** Null while ltsh's code is being replaced under this process: nothing is cached then. */
export function currentIdentity(): Identity | null {
  const code = codeIdentity();
  return code === null ? null : { code, kernel: kernelIdentity() };
}

/**
 * Release and build (`uname -r`, `uname -v`, which reproducible builds leave as `#1 ... @0`),
 * the image's build id (ELF notes), and the BTF blob's size for its types: task_struct
 * offsets are generated into the programs. Tracepoint ids are per boot and never part of an
 * entry: they are read from tracefs at each hit.
 */
export function kernelIdentity(): string {
  const read = (path: string, what: (path: string) => string) => {
    try {
      return what(path);
    } catch {
      return "none";
    }
  };
  const notes = read("/sys/kernel/notes", (p) => readFileSync(p).toString("hex"));
  const btf = read("/sys/kernel/btf/vmlinux", (p) => String(statSync(p).size));
  return `${release()} ${version()} ${arch()} notes:${notes} btf:${btf}`;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** scripts/bundle.mjs defines it (esbuild `define`) as the sources' stamp; unset from sources. */
const BUNDLE_STAMP = (globalThis as { __ltshBundleStamp?: string }).__ltshBundleStamp;

/**
 * The sources' stamp of scripts/bundle.mjs (file count and newest mtime of package.json,
 * src/ and grammar/). From the start-up bundle, the stamp it was built with (bin/ltsh.js
 * runs it only when that matches the sources); from the sources (tsx), walked here.
 */
export function codeIdentity(): string | null {
  // Built in by scripts/bundle.mjs: the stamp of exactly the code that runs, even when the
  // bundle beside it has been rebuilt since this process started.
  if (BUNDLE_STAMP !== undefined) return `stamp:${BUNDLE_STAMP}`;
  const { newest, text } = sourceStampOf(ROOT);
  return newest >= performance.timeOrigin ? null : `stamp:${text}`;
}

/** tracefs's events directory, where hits read each probe's format and id. */
export function tracefsEventsDir(): string | null {
  return (
    ["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"].find(existsSync) ?? null
  );
}

const entryPath = (dir: string, key: string) => join(dir, `${key}.ltsh`);

/** An entry as a file holds it (after the header line). */
interface Stored extends Omit<CompiledEntry, "artifacts"> {
  key: string;
  artifacts: PackedArtifact[];
  /** Each probe's tracefs format when compiled, its per-boot ID line cut out, hashed. */
  formats: Record<string, string>;
}

/**
 * The entry for `key`, with each probe's id read from `eventsDir` now; null (a miss) when
 * there is none, it is damaged, or a probe's format is gone or differs from when compiled
 * (a module's tracepoints reloaded, say): the compile then says what is wrong, as ever.
 */
export function readCompiled(dir: string, key: string, eventsDir: string): CompiledEntry | null {
  const path = entryPath(dir, key);
  let stored: Stored;
  const artifacts: Artifact[] = [];
  try {
    if (!trusted(dir) || !trusted(path)) return null;
    const bytes = readFileSync(path);
    const header = bytes.indexOf(10); // "\n"
    const [magic, sum] = bytes.toString("latin1", 0, header).split(" sum:");
    if (magic !== MAGIC || hash106(bytes.subarray(header + 1)) !== sum) return null;
    stored = JSON.parse(bytes.toString("utf8", header + 1));
    if (stored.key !== key || !Array.isArray(stored.artifacts)) return null;
    for (const packed of stored.artifacts) {
      const artifact = unpackArtifact(packed, (file) => existsSync(file) && trusted(file));
      if (artifact === null) return null;
      artifacts.push(artifact);
    }
    if (!refreshProbes(artifacts, stored.formats, eventsDir)) return null;
  } catch {
    return null;
  }
  touch(path);
  return { options: stored.options, diagnostics: stored.diagnostics, artifacts };
}

/**
 * Stores an entry with the formats of its probes in `eventsDir` (those it was compiled
 * against); best effort: a read-only or full cache only costs a compile next time.
 */
export function writeCompiled(
  dir: string,
  key: string,
  entry: CompiledEntry,
  eventsDir: string,
): void {
  const temporary = `${entryPath(dir, key)}.${process.pid}.tmp`;
  try {
    const formats: Record<string, string> = {};
    for (const probe of probesOf(entry.artifacts)) {
      const format = readFormat(eventsDir, probe);
      if (format === null) return;
      formats[probe.id] = format.hash;
    }
    const artifacts: PackedArtifact[] = [];
    for (const artifact of entry.artifacts) {
      const packed = packArtifact(artifact);
      if (packed === null) return; // nothing lasting to keep
      artifacts.push(packed);
    }
    const stored: Stored = { key, ...entry, artifacts, formats };
    // Tracepoint ids are per boot: read at each hit, never stored.
    const payload = JSON.stringify(stored, (name, value) => (name === "eventId" ? -1 : value));
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const bytes = Buffer.from(payload);
    const header = `${MAGIC} sum:${hash106(bytes)}\n`;
    writeFileSync(temporary, Buffer.concat([Buffer.from(header), bytes]), { mode: 0o644 });
    // Atomic: a racing run reads the old entry, the new one, or none, never half of one.
    renameSync(temporary, entryPath(dir, key));
    pruneCache(dir, CACHE_ENTRIES, (name) => name.endsWith(".ltsh"));
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {} // no directory to leave it in
  }
}

/**
 * Programs and modules from the cache are loaded into the kernel, often by root: only
 * entries (and a directory, and module files) of this user that no one else may write are
 * used.
 */
function trusted(path: string): boolean {
  const { uid, mode } = statSync(path);
  return uid === process.geteuid?.() && (mode & 0o022) === 0;
}

/** Every probe a stored artifact attaches to: its sides, cancels, and chain contexts. */
function probesOf(artifacts: Artifact[]): ProbePlan[] {
  const probes = new Set<ProbePlan>();
  for (const artifact of artifacts) {
    const { plan } = artifact;
    for (const side of [...plan.begins, ...plan.ends, ...(plan.cancels ?? [])]) {
      probes.add(side.probe);
    }
    if (artifact.backend === "ebpf") {
      for (const p of (artifact as LiveArtifact).object.programs) probes.add(p.probe);
    }
  }
  return [...probes];
}

/** Sets each probe's id from tracefs; false when a probe is gone or its format changed. */
function refreshProbes(
  artifacts: Artifact[],
  formats: Record<string, string>,
  eventsDir: string,
): boolean {
  for (const probe of probesOf(artifacts)) {
    const now = readFormat(eventsDir, probe);
    if (now === null || now.hash !== formats[probe.id]) return false;
    probe.eventId = now.id;
  }
  return true;
}

/**
 * A probe's id and the hash of its format without the `ID:` line (ids change at each boot,
 * the rest only with the kernel or the module defining the event); null when gone.
 */
function readFormat(eventsDir: string, probe: ProbePlan): { id: number; hash: string } | null {
  let text: string;
  try {
    text = readFileSync(join(eventsDir, probe.category, probe.name, "format"), "latin1");
  } catch {
    return null;
  }
  const line = /^ID: *(\d+)\n/m.exec(text);
  if (line === null) return null;
  const rest = text.slice(0, line.index) + text.slice(line.index + line[0].length);
  return { id: Number(line[1]), hash: hash106(Buffer.from(rest, "latin1")) };
}
