// The name of a live task from /proc, for hits whose events did not name the task their
// key is (a pid_t field with no comm beside it, kmod's hits): asked while the task lives.

import { readFileSync } from "node:fs";
import type { ProcessName } from "../compiler/hit-captures.ts";

/** /proc/PID/comm without its newline; null when the task is gone or the id is not one. */
export const procComm: ProcessName = (pid) => {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").replace(/\n$/, "") || null;
  } catch {
    return null;
  }
};
