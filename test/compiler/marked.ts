// Test helper: a program whose expected diagnostic ranges are marked inside its text with
// « and », e.g. `track «sched_wakup»(pid) -> ...`. The markers are removed before compiling.

export interface MarkedSource {
  source: string;
  /** Offsets in the unmarked source, in order of appearance. */
  ranges: { offset: number; endOffset: number }[];
}

export function parseMarked(marked: string): MarkedSource {
  let source = "";
  const ranges: { offset: number; endOffset: number }[] = [];
  let open = -1;
  for (const ch of marked) {
    if (ch === "«") open = source.length;
    else if (ch === "»") {
      ranges.push({ offset: open, endOffset: source.length });
      open = -1;
    } else source += ch;
  }
  return { source, ranges };
}

/** Re-inserts « » around each range: shows actual ranges in the same notation on failure. */
export function markRanges(
  source: string,
  ranges: { offset: number; endOffset: number }[],
): string {
  let out = source;
  for (const r of [...ranges].sort((a, b) => b.offset - a.offset)) {
    out = `${out.slice(0, r.offset)}«${out.slice(r.offset, r.endOffset)}»${out.slice(r.endOffset)}`;
  }
  return out;
}
