// The trace Trace Compass hands over: a text trace ltsh replays as it is, or an LTTng (CTF)
// trace directory, converted to text by babeltrace2 (or babeltrace) with the clock in
// seconds, so that timestamps stay in the trace's own clock (the one --begin/--end use).

import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectFormat } from "../replay/formats.ts";

/** A problem with the trace: becomes LAMI's error object. */
export class LamiError extends Error {}

export interface TraceInput {
  /** A text trace for the replay reader. */
  path: string;
  /** Removes what the conversion wrote. */
  cleanup(): void;
}

const CONVERTERS = ["babeltrace2", "babeltrace"];

function converter(): string | null {
  for (const name of CONVERTERS) {
    if (spawnSync(name, ["--help"], { stdio: "ignore" }).status === 0) return name;
  }
  return null;
}

/** A CTF trace has a `metadata` file, in the directory or a few levels below (LTTng sessions). */
function isCtf(dir: string, depth = 3): boolean {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  if (entries.some((e) => e.isFile() && e.name === "metadata")) return true;
  return depth > 0 && entries.some((e) => e.isDirectory() && isCtf(join(dir, e.name), depth - 1));
}

function kindOf(path: string): "file" | "directory" {
  try {
    return statSync(path).isDirectory() ? "directory" : "file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LamiError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : code}`);
  }
}

/** Why ltsh cannot analyse this trace, or null when it can (LAMI's compatibility phase). */
export function incompatibility(path: string): string | null {
  if (kindOf(path) === "directory") {
    if (!isCtf(path)) return `${path}: a directory that is not a CTF trace`;
    if (converter() === null)
      return `${path}: a CTF trace; reading it needs babeltrace2 (apt-get install babeltrace2)`;
    return null;
  }
  const head = Buffer.alloc(64 * 1024);
  const fd = openSync(path, "r");
  let size: number;
  try {
    size = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return null; // gzip: the reader inflates it
  const lines = head
    .toString("utf8", 0, size)
    .split("\n")
    .slice(0, -1)
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
  if (lines.length > 0 && detectFormat(lines.slice(0, 50)) !== null) return null;
  return `${path}: not a trace ltsh reads (ftrace text, perf script, babeltrace text or a CTF directory)`;
}

/** The trace as a text file the replay reader takes, converting a CTF directory first. */
export async function openTraceInput(path: string): Promise<TraceInput> {
  const problem = incompatibility(path);
  if (problem !== null) throw new LamiError(problem);
  if (kindOf(path) === "file") return { path, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "ltsh-lami-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const text = join(dir, "trace.txt");
  try {
    await convert(converter() as string, path, text);
  } catch (error) {
    cleanup();
    throw error;
  }
  return { path: text, cleanup };
}

function convert(program: string, trace: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(output, "w");
    const child = spawn(program, ["--clock-seconds", trace], { stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", (error) => {
      closeSync(out);
      reject(new LamiError(`${program}: ${error.message}`));
    });
    child.on("close", (status) => {
      closeSync(out);
      if (status === 0) resolve();
      else reject(new LamiError(`${program} ${trace} failed: ${stderr.trim().split("\n")[0]}`));
    });
  });
}
