// Errors from the kernel interface: an errno plus a one-line hint a user can act on
// (KernelError), and a refused program load carrying the verifier log (VerifierError).

import { errnoMessage, errnoName } from "./libc.ts";

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
/** Kernel-internal ENOTSUPP, which bpf(2) leaks to user space. */
export const ENOTSUPP = 524;

export const PERMISSION_FIX =
  "run as root (sudo) or grant CAP_BPF and CAP_PERFMON, or use --replay on a recorded trace";

export class KernelError extends Error {
  override name = "KernelError";
  constructor(
    /** What was being attempted: "create map ltsh_pending". */
    readonly operation: string,
    readonly errno: number,
    /** One line telling the user what to do; "" when there is nothing useful to add. */
    readonly hint = "",
  ) {
    super(
      `${operation}: ${errnoMessage(errno)} (${errnoName(errno)})${hint === "" ? "" : `; ${hint}`}`,
    );
  }

  /** True for errors caused by the user's situation, printed as one line without a stack. */
  get isUserFacing(): boolean {
    return this.hint !== "";
  }
}

export class VerifierError extends Error {
  override name = "VerifierError";
  constructor(
    readonly program: string,
    readonly errno: number,
    /** The verifier's log (log_level 1 or 2); never empty when the verifier produced one. */
    readonly log: string,
  ) {
    super(`the kernel verifier rejected program ${program} (${errnoName(errno)})`);
  }

  /** The verifier's last lines usually say what went wrong ("R1 invalid mem access ..."). */
  summary(lines = 3): string {
    return this.log.trimEnd().split("\n").slice(-lines).join("\n");
  }
}

/** The hint for a failure whose errno says the caller lacks privileges. */
export function permissionHint(errno: number): string {
  return errno === EPERM || errno === EACCES ? `not permitted: ${PERMISSION_FIX}` : "";
}
