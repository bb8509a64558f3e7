// Whether a probe name is a user-space probe's, without the readers behind one (ELF symbols,
// USDT notes): the checker asks it of every probe, and most files name only tracepoints.

/** How a user-space probe's name starts (grammar/tokens.ts's UserProbe token). */
export const USER_PROBE_PREFIXES = ["uprobe:", "uretprobe:", "usdt:"];

/** True when `spelling` names a user-space probe (then only probe-plan.ts resolves it). */
export function isUserProbeSpelling(spelling: string): boolean {
  return USER_PROBE_PREFIXES.some((prefix) => spelling.startsWith(prefix));
}

/**
 * Whether a program's text may name a user-space probe: a prefix anywhere (in a comment too,
 * which costs only loading the readers for nothing). False means it names none for certain:
 * a probe's name is one token of the text, and a user-space probe's starts with a prefix.
 */
export function mayNameUserProbe(text: string): boolean {
  return USER_PROBE_PREFIXES.some((prefix) => text.includes(prefix));
}
