// An event's field values from its printed text. Most tracepoints print `name=value`;
// the ones whose print format differs (sched_switch's state letters, raw_syscalls, block's
// positional "8,0 WS 4096 () 123 + 8", syscalls' "fd: 0x1") have a parser of their own.
// Values stay text here; ./values.ts types them against the tracepoint's field.

import { TASK_REPORT_MAX, TASK_STATE_BITS } from "../compiler/field-symbols.ts";
import type { TraceEvent } from "./event.ts";
import { FtraceByteEvent } from "./ftrace-bytes.ts";

/** Field name → its printed text. A Map, or a lazy view that finds one field on demand. */
export interface FieldText {
  get(name: string): string | undefined;
  /** A field printed as a plain decimal of up to 15 digits, without making a string. */
  getInt?(name: string): number | undefined;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** True when `name=` starts at `at` (the start of the next field). */
function startsField(text: string, at: number): boolean {
  let i = at;
  while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
  return i > at && text.charCodeAt(i) === 61 /* = */;
}

/** " name=" search strings, built once per field name. */
const needles = new Map<string, string>();

/**
 * `name=value ...` read lazily: the hot path of replay, where most events need one or two
 * fields. A value runs until the next ` name=`, so comms with spaces survive.
 */
export class NameValueText implements FieldText {
  constructor(
    private readonly payload: string,
    private readonly aliases?: Record<string, string>,
  ) {}

  get(name: string): string | undefined {
    const text = this.payload;
    const printed = this.aliases?.[name] ?? name;
    let start: number;
    if (text.startsWith(printed) && text.charCodeAt(printed.length) === 61) start = 0;
    else {
      let needle = needles.get(printed);
      if (needle === undefined) {
        needle = ` ${printed}=`;
        needles.set(printed, needle);
      }
      start = text.indexOf(needle);
      if (start < 0) return undefined;
      start++;
    }
    start += printed.length + 1;
    let end = text.indexOf(" ", start);
    // sched_switch separates prev_* from next_* with " ==> ".
    while (end >= 0 && !startsField(text, end + 1) && !text.startsWith("==> ", end + 1)) {
      end = text.indexOf(" ", end + 1);
    }
    return text.slice(start, end < 0 ? text.length : end);
  }
}

// `name=value`: a value runs until the next ` name=` so that comms with spaces survive.
const NAME_EQUALS = /(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g;
// `name: value` separated by commas (syscalls events, kfree_skb's "reason: X").
const NAME_COLON = /(?:^|,\s*|\s)([A-Za-z_][A-Za-z0-9_]*):\s/g;

function splitPairs(payload: string, pattern: RegExp): Map<string, string> {
  const fields = new Map<string, string>();
  const matches = [...payload.matchAll(pattern)];
  matches.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = i + 1 < matches.length ? matches[i + 1].index : payload.length;
    let value = payload.slice(start, end).trim();
    if (value.endsWith(",")) value = value.slice(0, -1);
    fields.set(m[1], value);
  });
  return fields;
}

export function parseNameValue(payload: string): Map<string, string> {
  const fields = splitPairs(payload, NAME_EQUALS);
  if (fields.size > 0) {
    // kfree_skb ends with "reason: NOT_SPECIFIED" after its name=value pairs.
    for (const [name, value] of fields) {
      const reason = value.indexOf(" reason: ");
      if (reason >= 0) {
        fields.set(name, value.slice(0, reason));
        fields.set("reason", value.slice(reason + 9));
      }
    }
    return fields;
  }
  return splitPairs(payload, NAME_COLON);
}

export function taskStateFromText(text: string): string {
  if (/^-?\d+$/.test(text)) return text;
  let state = 0;
  let letters = text;
  if (letters.endsWith("+")) {
    state |= TASK_REPORT_MAX;
    letters = letters.slice(0, -1);
  }
  for (const letter of letters.split("|")) state |= TASK_STATE_BITS[letter] ?? 0;
  return String(state);
}

const BLOCK_RQ = /^(\d+),(\d+) (\S*) (?:(\d+) )?\((.*?)\) (\d+) \+ (\d+)(?: \S+)? \[(.*)\]$/;

/** block_rq_*: "%d,%d %s %u (%s) %llu + %u ioprio [%s]"; dev is the kernel's MKDEV(major, minor). */
function parseBlockRq(payload: string, lastIs: "comm" | "error"): Map<string, string> | null {
  const m = BLOCK_RQ.exec(payload);
  if (m === null) return null;
  const dev = (BigInt(m[1]) << 20n) | BigInt(m[2]);
  const fields = new Map([
    ["dev", dev.toString()],
    ["rwbs", m[3]],
    ["cmd", m[5]],
    ["sector", m[6]],
    ["nr_sector", m[7]],
  ]);
  if (m[4] !== undefined) fields.set("bytes", m[4]);
  fields.set(lastIs, m[8]);
  return fields;
}

/** A FieldText whose values pass through `map` (state letters, "handled", aliases). */
class MappedText implements FieldText {
  constructor(
    private readonly inner: FieldText,
    /** The one field whose printed text `map` turns into the stored value. */
    private readonly mapped: string,
    private readonly map: (value: string) => string,
    /** Field name → the name it is printed under. */
    private readonly printedAs: Record<string, string> = {},
  ) {}
  get(name: string): string | undefined {
    const value = this.inner.get(this.printedAs[name] ?? name);
    return value !== undefined && name === this.mapped ? this.map(value) : value;
  }
  getInt(name: string): number | undefined {
    if (name === this.mapped || this.printedAs[name] !== undefined) return undefined;
    return this.inner.getInt?.(name);
  }
}

const irqReturn = (value: string) =>
  value === "handled" ? "1" : value === "unhandled" ? "0" : value;
const same = (value: string) => value;

/** The name=value fields of an event, read from its bytes when it has them. */
function nameValues(event: TraceEvent): FieldText {
  return event instanceof FtraceByteEvent
    ? event.nameValueText()
    : new NameValueText(event.payload);
}

/**
 * A MappedText over the event's name=value fields. A byte event is reused line after line
 * and re-aims its one field reader, so its wrapper is made once per event name.
 */
function mapped(
  event: TraceEvent,
  name: string,
  map: (value: string) => string,
  printedAs?: Record<string, string>,
): FieldText {
  if (!(event instanceof FtraceByteEvent)) {
    return new MappedText(nameValues(event), name, map, printedAs);
  }
  const inner = event.nameValueText();
  let wrapper = event.wrappers.get(event.name);
  if (wrapper === undefined) {
    wrapper = new MappedText(inner, name, map, printedAs);
    event.wrappers.set(event.name, wrapper);
  }
  return wrapper;
}

type EventParser = (event: TraceEvent) => FieldText | null;

function softirqVec(payload: string): FieldText | null {
  const m = /^vec=(\d+)/.exec(payload);
  return m ? new Map([["vec", m[1]]]) : null;
}

/** Printed shapes that are not plain name=value, by event name. */
const special: Record<string, EventParser> = {
  // "prev_state=S ==> next_comm=..."; the state letters become the kernel's bits.
  sched_switch: (event) => mapped(event, "prev_state", taskStateFromText),
  // ret printed "handled"/"unhandled" (IRQ_HANDLED = 1, IRQ_NONE = 0).
  irq_handler_exit: (event) => mapped(event, "ret", irqReturn),
  // The printed "dev=" is the device name, field `name` (__get_str(name)).
  netif_receive_skb: (event) => mapped(event, "", same, { name: "dev" }),
  // Its print format ends with "reason: X" after the name=value pairs.
  kfree_skb: (event) => parseNameValue(event.payload),
  // raw_syscalls: "NR 1 (1, 55d0, 2, 0, 0, 0)" and "NR 1 = 2".
  sys_enter({ payload }) {
    const m = /^NR (-?\d+) \((.*)\)$/.exec(payload);
    return m ? new Map([["id", m[1]]]) : parseNameValue(payload);
  },
  sys_exit({ payload }) {
    const m = /^NR (-?\d+) = (-?\d+)$/.exec(payload);
    return m
      ? new Map([
          ["id", m[1]],
          ["ret", m[2]],
        ])
      : parseNameValue(payload);
  },
  // "vec=3 [action=NET_RX]": the bracketed name is printed, not a field.
  softirq_raise: (e) => softirqVec(e.payload),
  softirq_entry: (e) => softirqVec(e.payload),
  softirq_exit: (e) => softirqVec(e.payload),
  block_rq_issue: (e) => parseBlockRq(e.payload, "comm"),
  block_rq_insert: (e) => parseBlockRq(e.payload, "comm"),
  block_rq_complete: (e) => parseBlockRq(e.payload, "error"),
  block_rq_requeue: (e) => parseBlockRq(e.payload, "error"),
};

/** LTTng's payload field names where they differ from the kernel's (tid for pid). */
const LTTNG_FIELD_NAMES: Record<string, string> = {
  tid: "pid",
  prev_tid: "prev_pid",
  next_tid: "next_pid",
  parent_tid: "parent_pid",
  child_tid: "child_pid",
};

function fromBabeltrace(event: TraceEvent, fields: Map<string, string>): FieldText {
  const renamed = new Map(fields);
  for (const [lttng, kernel] of Object.entries(LTTNG_FIELD_NAMES)) {
    const value = fields.get(lttng);
    if (value !== undefined && !fields.has(kernel)) renamed.set(kernel, value);
  }
  if (event.name === "sched_switch") {
    const state = renamed.get("prev_state");
    if (state !== undefined) renamed.set("prev_state", taskStateFromText(state));
  }
  return renamed;
}

/**
 * The field texts of an event, keyed by the tracepoint's field names. Null when the
 * payload does not have the shape its event prints (the line is then malformed).
 */
export function eventFields(event: TraceEvent): FieldText | null {
  if (event.fields !== undefined) return fromBabeltrace(event, event.fields);
  const parser = special[event.name];
  if (parser) return parser(event);
  if (event.name.startsWith("sys_enter_")) return splitPairs(event.payload, NAME_COLON);
  if (event.name.startsWith("sys_exit_")) {
    // The syscall tracer prints "0x2", the print fmt of syscalls:sys_exit_* too.
    return new Map([["ret", event.payload.trim()]]);
  }
  if (event instanceof FtraceByteEvent) {
    const equals = event.buf.indexOf(61, event.payloadStart);
    if (equals >= 0 && equals < event.end) return event.nameValueText();
    return parseNameValue(event.payload);
  }
  return event.payload.includes("=")
    ? new NameValueText(event.payload)
    : parseNameValue(event.payload);
}
