// `ltsh record -o OUT --for-file FILE -- sh -c COMMAND`, as the recorder's kernel tests run it.

import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { findTracefs } from "../../src/kernel/tracefs.ts";

/** Why the recorder's kernel tests cannot run here (not root, no tracefs), or null. */
export function recorderSkipReason(): string | null {
  if (process.getuid?.() !== 0) return "needs root to create tracefs instances";
  try {
    findTracefs({ mount: false });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Runs the recorder over `shell` (a sh -c line); `env` adds to the environment. */
export function recordForFile(
  out: string,
  file: string,
  shell: string,
  env: Record<string, string> = {},
): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    ["bin/ltsh.js", "record", "-o", out, "--for-file", file, "--", "sh", "-c", shell],
    { encoding: "utf8", env: { ...process.env, ...env } },
  );
}
