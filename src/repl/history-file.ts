// The prompt history on disk: $XDG_STATE_HOME/ltsh/history (default ~/.local/state/...),
// one entry per line, newest last. A history that cannot be read or written never stops
// the shell: it just is not kept, and the user is told once.

import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { HISTORY_LIMIT } from "./state.ts";

export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
  const stateHome = env.XDG_STATE_HOME?.trim()
    ? env.XDG_STATE_HOME
    : join(env.HOME || homedir(), ".local", "state");
  return join(stateHome, "ltsh", "history");
}

export function loadHistory(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const entries = text.split("\n").filter((line) => line.trim() !== "");
  if (entries.length > HISTORY_LIMIT * 2) {
    // Keep the file from growing without bound: rewrite it with the newest entries.
    const kept = entries.slice(-HISTORY_LIMIT);
    tryWrite(() => writeFileSync(path, `${kept.join("\n")}\n`));
    return kept;
  }
  return entries.slice(-HISTORY_LIMIT);
}

/** Appends one entry; returns an error message the first time writing fails, else null. */
export function appendHistory(path: string, entry: string): string | null {
  return tryWrite(() => {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${entry.replace(/\n/g, " ")}\n`);
  });
}

function tryWrite(write: () => void): string | null {
  try {
    write();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
