// tracefs text read straight from the file's bytes — the replay hot path. The context
// (time, CPU, task ids) is parsed from the bytes; the comm, the payload and the fields a
// tracker needs are decoded only when asked, so most of a trace is never turned into strings.

import { bytesText } from "./byte-strings.ts";
import {
  CLOSE_BRACKET,
  CLOSE_PAREN,
  COLON,
  DASH,
  DOT,
  EQUALS,
  isDigit,
  OPEN_BRACKET,
  OPEN_PAREN,
  SPACE,
} from "./chars.ts";
import { fractionDigitsToNs, type TraceEvent } from "./event.ts";
import type { FieldText } from "./fields.ts";

function isNameByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** Digits of buf[from, to) as a number; -1 when any is not a digit or the run is empty. */
function digits(buf: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** One line of a byte chunk, as a TraceEvent whose strings are decoded on demand. */
export class FtraceByteEvent implements TraceEvent {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  lineNo = 0;
  name = "";
  category = "";
  sec = 0;
  nsec = 0;
  cpu = 0;
  tid = 0;
  pid = -1;
  commStart = 0;
  commEnd = 0;
  payloadStart = 0;
  private lineText: string | undefined;
  private commText: string | undefined;
  private payloadText: string | undefined;

  /** Points the event at a new line (the object is reused line after line). */
  reset(buf: Buffer, start: number, end: number, lineNo: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.lineNo = lineNo;
    this.name = "";
    this.category = "";
    this.lineText = undefined;
    this.commText = undefined;
    this.payloadText = undefined;
  }

  get line(): string {
    this.lineText ??= this.buf.toString("utf8", this.start, this.end);
    return this.lineText;
  }
  get comm(): string {
    this.commText ??= bytesText(this.buf, this.commStart, this.commEnd);
    return this.commText;
  }
  set comm(value: string) {
    this.commText = value;
  }
  get payload(): string {
    this.payloadText ??= this.buf.toString("utf8", this.payloadStart, this.end);
    return this.payloadText;
  }
  set payload(value: string) {
    this.payloadText = value;
  }

  /** FieldText wrappers made for this (reused) event, by event name: made once, reused. */
  readonly wrappers = new Map<string, FieldText>();
  private readonly text = new ByteNameValueText();

  /** The payload's `name=value` fields, searched in the bytes (one object, re-aimed). */
  nameValueText(): FieldText {
    this.text.aim(this.buf, this.payloadStart, this.end);
    return this.text;
  }
}

/** How to find one field's value in a line: its " name=" bytes and which way to search. */
interface FieldNeedle {
  bytes: Buffer;
  /** The name's first byte (the search's quick test before a compare). */
  first: number;
  /** Last found in the second half of its line: searched backwards (null: not found yet). */
  nearEnd: boolean | null;
}

/** Needles by field name, built once per name. */
const needles = new Map<string, FieldNeedle>();

function needleOf(name: string): FieldNeedle {
  let needle = needles.get(name);
  if (needle === undefined) {
    const bytes = Buffer.from(` ${name}=`);
    needle = { bytes, first: bytes[1], nearEnd: null };
    needles.set(name, needle);
  }
  return needle;
}

/** True when `name=` starts at `at` (the next field), or "==> " (sched_switch's arrow). */
function startsField(buf: Buffer, at: number, end: number): boolean {
  let i = at;
  while (i < end && isNameByte(buf[i])) i++;
  if (i > at && buf[i] === EQUALS) return true;
  return (
    buf[at] === EQUALS && buf[at + 1] === EQUALS && buf[at + 2] === 62 && buf[at + 3] === SPACE
  );
}

/** `name=value ...` over bytes: a value runs until the next ` name=` (comms with spaces). */
export class ByteNameValueText implements FieldText {
  private buf: Buffer = Buffer.alloc(0);
  private from = 0;
  private end = 0;

  aim(buf: Buffer, from: number, end: number): void {
    this.buf = buf;
    this.from = from;
    this.end = end;
  }

  get(name: string): string | undefined {
    const start = this.valueStart(name);
    if (start < 0) return undefined;
    return bytesText(this.buf, start, this.valueEnd(start));
  }

  getInt(name: string): number | undefined {
    const start = this.valueStart(name);
    if (start < 0) return undefined;
    const { buf, end } = this;
    const negative = buf[start] === DASH;
    const first = negative ? start + 1 : start;
    // One pass: the digits, then the value must end there (the line's end or the next field).
    let value = 0;
    let at = first;
    for (; at < end; at++) {
      const digit = buf[at] - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (at === first || at - first > 15) return undefined;
    if (at < end && !(buf[at] === SPACE && startsField(buf, at + 1, end))) return undefined;
    return negative ? -value : value;
  }

  /** Where the value of `name=` starts in this line, or -1. */
  private valueStart(name: string): number {
    const { buf, from, end } = this;
    const needle = needleOf(name);
    const bytes = needle.bytes;
    const length = bytes.length;
    // The first field has no space before it: compare "name=" at the start.
    if (matchAt(buf, from, bytes, 1, end)) return from + length - 1;
    const first = needle.first;
    // A field last found near the end of its line (sched_switch's next_pid) is looked
    // for from the end: a field name occurs once in a line, so either way finds it.
    if (needle.nearEnd === true) {
      for (let i = end - length; i >= from; i--) {
        if (buf[i] === SPACE && buf[i + 1] === first && matchAt(buf, i, bytes, 0, end))
          return i + length;
      }
      return -1;
    }
    for (let i = from; i + length <= end; i++) {
      if (buf[i] === SPACE && buf[i + 1] === first && matchAt(buf, i, bytes, 0, end)) {
        needle.nearEnd = i - from > end - i;
        return i + length;
      }
    }
    return -1;
  }

  private valueEnd(start: number): number {
    const { buf, end } = this;
    let stop = start;
    while (stop < end && !(buf[stop] === SPACE && startsField(buf, stop + 1, end))) stop++;
    return stop;
  }
}

/** True when needle[from..] equals buf at `at` (within `end`). */
function matchAt(buf: Buffer, at: number, needle: Buffer, from: number, end: number): boolean {
  const length = needle.length - from;
  if (at + length > end) return false;
  for (let i = 0; i < length; i++) if (buf[at + i] !== needle[from + i]) return false;
  return true;
}

/** Index of the "[NNN]" CPU column's "[" in buf[start, end), or -1. */
function cpuColumn(buf: Buffer, start: number, end: number): number {
  let open = buf.indexOf(OPEN_BRACKET, start);
  while (open >= 0 && open < end) {
    let i = open + 1;
    while (isDigit(buf[i])) i++;
    if (i > open + 1 && buf[i] === CLOSE_BRACKET && buf[open - 1] === SPACE) return open;
    open = buf.indexOf(OPEN_BRACKET, open + 1);
  }
  return -1;
}

/**
 * Fills the event from its line's bytes; returns where "event: ..." starts, or -1 when the
 * line is not in the plain shape (the caller then decodes it and uses the general parser).
 */
export function scanFtraceBytes(event: FtraceByteEvent): number {
  const { buf, start: lineStart, end: lineEnd } = event;
  const open = cpuColumn(buf, lineStart, lineEnd);
  if (open < 0) return -1;
  let close = open + 1;
  while (buf[close] !== CLOSE_BRACKET) close++;
  event.cpu = digits(buf, open + 1, close);
  // Task: "comm-tid", then optionally "(  tgid)" or "(-------)".
  let end = open - 1;
  while (end > lineStart && buf[end] === SPACE) end--;
  event.pid = -1;
  if (buf[end] === CLOSE_PAREN) {
    let paren = end - 1;
    while (paren > lineStart && buf[paren] !== OPEN_PAREN) paren--;
    if (buf[paren] !== OPEN_PAREN) return -1;
    let from = paren + 1;
    while (buf[from] === SPACE) from++;
    if (buf[from] !== DASH) {
      event.pid = digits(buf, from, end);
      if (event.pid < 0) return -1;
    }
    end = paren - 1;
    while (end > lineStart && buf[end] === SPACE) end--;
  }
  let dash = end;
  while (dash > lineStart && isDigit(buf[dash])) dash--;
  if (buf[dash] !== DASH || dash === end) return -1;
  event.tid = digits(buf, dash + 1, end + 1);
  let commStart = lineStart;
  while (buf[commStart] === SPACE) commStart++;
  if (commStart >= dash) return -1;
  event.commStart = commStart;
  event.commEnd = dash;
  // After the CPU: optional flags ("d..2."), then "secs.frac:".
  let at = close + 1;
  while (buf[at] === SPACE) at++;
  if (!isDigit(buf[at])) {
    while (at < lineEnd && buf[at] !== SPACE) at++;
    while (buf[at] === SPACE) at++;
  }
  let dot = at;
  while (isDigit(buf[dot])) dot++;
  if (buf[dot] !== DOT) return -1;
  let colon = dot + 1;
  while (isDigit(buf[colon])) colon++;
  if (buf[colon] !== COLON || buf[colon + 1] !== SPACE || colon >= lineEnd) return -1;
  event.sec = digits(buf, at, dot);
  const fraction = digits(buf, dot + 1, colon);
  if (event.sec < 0 || fraction < 0) return -1;
  event.nsec = fractionDigitsToNs(fraction, colon - dot - 1);
  if (event.nsec < 0) return -1;
  let rest = colon + 1;
  while (buf[rest] === SPACE) rest++;
  return rest < lineEnd && buf[rest] !== COLON && buf[rest] !== OPEN_BRACKET ? rest : -1;
}

/** Event names as bytes, to recognise "name:" at a line's event column without decoding. */
export class EventNameMatcher {
  private readonly names: { name: string; bytes: Buffer }[];

  constructor(names: readonly string[]) {
    this.names = names.map((name) => ({ name, bytes: Buffer.from(name) }));
  }

  /** Sets the event's name and payload start when "name: " is at `at`; false otherwise. */
  match(event: FtraceByteEvent, at: number): boolean {
    const buf = event.buf;
    for (const { name, bytes } of this.names) {
      const length = bytes.length;
      if (buf[at + length] !== COLON || !matchAt(buf, at, bytes, 0, event.end)) continue;
      event.name = name;
      event.payloadStart = at + length + (buf[at + length + 1] === SPACE ? 2 : 1);
      return true;
    }
    return false;
  }
}
