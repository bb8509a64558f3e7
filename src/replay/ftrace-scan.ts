// A hand-written scanner for the context part of a tracefs line — the replay hot path.
// It reads `comm-tid (tgid) [cpu] flags secs.frac: ` with character codes and few string
// copies; on anything unusual it gives up and the regex in ./formats.ts decides.

import {
  CLOSE_BRACKET,
  CLOSE_PAREN,
  COLON,
  DASH,
  DOT,
  isDigit,
  OPEN_BRACKET,
  SPACE,
} from "./chars.ts";
import { fractionDigitsToNs, type TraceEvent } from "./event.ts";

/** Digits of text[from, to) as a number; -1 when any is not a digit or the run is empty. */
function digits(text: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Index of the "[NNN]" CPU column's "[", or -1. */
function cpuColumn(line: string): number {
  let open = line.indexOf("[");
  while (open >= 0) {
    let i = open + 1;
    while (isDigit(line.charCodeAt(i))) i++;
    if (
      i > open + 1 &&
      line.charCodeAt(i) === CLOSE_BRACKET &&
      line.charCodeAt(open - 1) === SPACE
    ) {
      return open;
    }
    open = line.indexOf("[", open + 1);
  }
  return -1;
}

/**
 * A tracefs event whose comm is cut out of the line only when asked: most events of a
 * trace only move time forward or are looked up by name, and never need it.
 */
export class FtraceLineEvent implements TraceEvent {
  lineNo = 0;
  line = "";
  name = "";
  category = "";
  sec = 0;
  nsec = 0;
  cpu = 0;
  tid = 0;
  pid = -1;
  payload = "";
  /** [commStart, commEnd) of the line; commEnd -1 once cut (or set). */
  commStart = 0;
  commEnd = -1;
  private cut = "";

  get comm(): string {
    if (this.commEnd >= 0) {
      this.cut = this.line.slice(this.commStart, this.commEnd);
      this.commEnd = -1;
    }
    return this.cut;
  }
  set comm(value: string) {
    this.cut = value;
    this.commEnd = -1;
  }
}

/**
 * Fills the event's time, CPU and task from a tracefs line (the comm is cut on demand);
 * returns the index where "event: ..." starts, or -1 when the line is not in the plain
 * shape (the caller then uses the regex).
 */
export function scanFtraceContext(line: string, event: FtraceLineEvent): number {
  const open = cpuColumn(line);
  if (open < 0) return -1;
  let close = open + 1;
  while (line.charCodeAt(close) !== CLOSE_BRACKET) close++;
  event.cpu = digits(line, open + 1, close);
  // Task: "comm-tid", then optionally "(  tgid)" or "(-------)".
  let end = open - 1;
  while (end > 0 && line.charCodeAt(end) === SPACE) end--;
  event.pid = -1;
  if (line.charCodeAt(end) === CLOSE_PAREN) {
    const paren = line.lastIndexOf("(", end);
    if (paren < 0) return -1;
    let from = paren + 1;
    while (line.charCodeAt(from) === SPACE) from++;
    if (line.charCodeAt(from) !== DASH) {
      event.pid = digits(line, from, end);
      if (event.pid < 0) return -1;
    }
    end = paren - 1;
    while (end > 0 && line.charCodeAt(end) === SPACE) end--;
  }
  let dash = end;
  while (dash > 0 && isDigit(line.charCodeAt(dash))) dash--;
  if (line.charCodeAt(dash) !== DASH || dash === end) return -1;
  event.tid = digits(line, dash + 1, end + 1);
  let start = 0;
  while (line.charCodeAt(start) === SPACE) start++;
  if (start >= dash) return -1;
  event.commStart = start;
  event.commEnd = dash;
  // After the CPU: optional flags ("d..2."), then "secs.frac:".
  let at = close + 1;
  while (line.charCodeAt(at) === SPACE) at++;
  if (!isDigit(line.charCodeAt(at))) {
    while (at < line.length && line.charCodeAt(at) !== SPACE) at++;
    while (line.charCodeAt(at) === SPACE) at++;
  }
  const dot = line.indexOf(".", at);
  if (dot < 0) return -1;
  const colon = line.indexOf(":", dot);
  if (colon < 0 || line.charCodeAt(colon + 1) !== SPACE || line.charCodeAt(dot) !== DOT) return -1;
  event.sec = digits(line, at, dot);
  const fraction = digits(line, dot + 1, colon);
  if (event.sec < 0 || fraction < 0) return -1;
  event.nsec = fractionDigitsToNs(fraction, colon - dot - 1);
  if (event.nsec < 0) return -1;
  let rest = colon + 1;
  while (line.charCodeAt(rest) === SPACE) rest++;
  return rest < line.length &&
    line.charCodeAt(rest) !== COLON &&
    line.charCodeAt(rest) !== OPEN_BRACKET
    ? rest
    : -1;
}
