// The LTTng side of a snapshot: `lttng snapshot record -s SESSION -n NAME` (argv, no shell)
// when `set snapshot.lttng = SESSION` names a snapshot-mode session the user created.

import { execFile } from "node:child_process";

export interface LttngResult {
  ok: boolean;
  /** One line for the user when the record failed; "" when it worked. */
  message: string;
}

/** Runs the lttng client; a missing binary or a failing record becomes a message, never a throw. */
export function recordLttngSnapshot(
  session: string,
  name: string,
  lttngBinary = "lttng",
): Promise<LttngResult> {
  const argv = ["snapshot", "record", "-s", session, "-n", name];
  return new Promise((resolve) => {
    execFile(lttngBinary, argv, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve({ ok: true, message: "" });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        return resolve({
          ok: false,
          message: `snapshot.lttng: the lttng command was not found; install lttng-tools or unset snapshot.lttng`,
        });
      }
      const reason = String(stderr).trim().split("\n")[0] || error.message;
      resolve({
        ok: false,
        message: `snapshot.lttng: lttng snapshot record -s ${session}: ${reason}`,
      });
    });
  });
}
