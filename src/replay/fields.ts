// An event's field values from its printed text. Most tracepoints print `name=value`;
// the ones whose print format differs (sched_switch's state letters, raw_syscalls, block's
// positional "8,0 WS 4096 () 123 + 8", syscalls' "fd: 0x1") have a parser of their own.
// Values stay text here; ./values.ts types them against the tracepoint's field.

import type { TraceEvent } from "./event.ts";

export type FieldText = Map<string, string>;
type PayloadParser = (payload: string) => FieldText | null;

// `name=value`: a value runs until the next ` name=` so that comms with spaces survive.
const NAME_EQUALS = /(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g;
// `name: value` separated by commas (syscalls events, kfree_skb's "reason: X").
const NAME_COLON = /(?:^|,\s*|\s)([A-Za-z_][A-Za-z0-9_]*):\s/g;

function splitPairs(payload: string, pattern: RegExp): FieldText {
  const fields: FieldText = new Map();
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

export function parseNameValue(payload: string): FieldText {
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

/** sched_switch prev_state letters (__print_flags in its print fmt) → the state bits. */
const TASK_STATE_BITS: Record<string, number> = {
  R: 0,
  S: 0x1,
  D: 0x2,
  T: 0x4,
  t: 0x8,
  X: 0x10,
  Z: 0x20,
  P: 0x40,
  I: 0x80,
};
/** TASK_REPORT_MAX: printed as a trailing "+" (the task was preempted while runnable). */
const TASK_REPORT_MAX = 0x100;

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
function parseBlockRq(payload: string, lastIs: "comm" | "error"): FieldText | null {
  const m = BLOCK_RQ.exec(payload);
  if (m === null) return null;
  const dev = (BigInt(m[1]) << 20n) | BigInt(m[2]);
  const fields: FieldText = new Map([
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

const special: Record<string, PayloadParser> = {
  sched_switch(payload) {
    const fields = parseNameValue(payload.replace(" ==> ", " "));
    const state = fields.get("prev_state");
    if (state !== undefined) fields.set("prev_state", taskStateFromText(state));
    return fields;
  },
  irq_handler_exit(payload) {
    const fields = parseNameValue(payload);
    const ret = fields.get("ret");
    if (ret === "handled") fields.set("ret", "1");
    if (ret === "unhandled") fields.set("ret", "0");
    return fields;
  },
  // raw_syscalls: "NR 1 (1, 55d0, 2, 0, 0, 0)" and "NR 1 = 2".
  sys_enter(payload) {
    const m = /^NR (-?\d+) \((.*)\)$/.exec(payload);
    return m ? new Map([["id", m[1]]]) : parseNameValue(payload);
  },
  sys_exit(payload) {
    const m = /^NR (-?\d+) = (-?\d+)$/.exec(payload);
    return m
      ? new Map([
          ["id", m[1]],
          ["ret", m[2]],
        ])
      : parseNameValue(payload);
  },
  block_rq_issue: (p) => parseBlockRq(p, "comm"),
  block_rq_insert: (p) => parseBlockRq(p, "comm"),
  block_rq_complete: (p) => parseBlockRq(p, "error"),
  block_rq_requeue: (p) => parseBlockRq(p, "error"),
  // The printed "dev=" is the device name, field `name` (__get_str(name)).
  netif_receive_skb(payload) {
    const fields = parseNameValue(payload);
    const dev = fields.get("dev");
    if (dev !== undefined) fields.set("name", dev);
    return fields;
  },
};

/** LTTng's payload field names where they differ from the kernel's (tid for pid). */
const LTTNG_FIELD_NAMES: Record<string, string> = {
  tid: "pid",
  prev_tid: "prev_pid",
  next_tid: "next_pid",
  parent_tid: "parent_pid",
  child_tid: "child_pid",
};

function fromBabeltrace(event: TraceEvent, fields: FieldText): FieldText {
  const renamed: FieldText = new Map(fields);
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
  if (parser) return parser(event.payload);
  if (event.name.startsWith("sys_enter_")) return splitPairs(event.payload, NAME_COLON);
  if (event.name.startsWith("sys_exit_")) {
    // The syscall tracer prints "0x2", the print fmt of syscalls:sys_exit_* too.
    return new Map([["ret", event.payload.trim()]]);
  }
  return parseNameValue(event.payload);
}
