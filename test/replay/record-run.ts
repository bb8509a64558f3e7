// `ltsh record -o OUT --for-file FILE -- sh -c COMMAND`, as the recorder's kernel tests run it.

import { type SpawnSyncReturns, spawnSync } from "node:child_process";

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
