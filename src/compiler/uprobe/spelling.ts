// Whether a probe name is a user-space probe's, without the readers behind one (ELF, USDT
// notes): the checker asks it of every probe, and most files name only tracepoints.

export const USER_PROBE_PREFIXES = ["uprobe:", "uretprobe:", "usdt:"];

/** True when `spelling` names a user-space probe (then only probe-plan.ts resolves it). */
export function isUserProbeSpelling(spelling: string): boolean {
  return USER_PROBE_PREFIXES.some((prefix) => spelling.startsWith(prefix));
}

/**
 * Whether a program's text may name a user-space probe: a prefix anywhere (a comment too,
 * which only costs loading the readers for nothing). False means it certainly names none.
 */
export function mayNameUserProbe(text: string): boolean {
  return USER_PROBE_PREFIXES.some((prefix) => text.includes(prefix));
}
