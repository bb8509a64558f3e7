// The TrackerPlan: the backend-neutral IR that the replay interpreter, the BPF codegen
// and the kernel-module codegen all consume. Nothing here refers back to the AST or CST.
// Plans are plain JSON-serialisable data (`ltsh compile --emit plan` prints them).

import type { TracepointField } from "./catalog/types.ts";
import type { SourceRange } from "./diagnostic.ts";

/** Builtins read from the context of the CPU that fires the probe, not from the event's fields. */
export type BuiltinName = "tid" | "pid" | "comm" | "cpu" | "uid" | "cgroup";

/**
 * Types of values. Integers are at most 64 bits; `signed` decides how comparisons
 * and the 32→64-bit widening behave. Strings are fixed-size NUL-padded char arrays
 * (`comm` is 16 bytes); comparing two strings compares up to the first NUL.
 */
export type ValueType =
  | { kind: "int"; size: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: "string"; size: number };

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
export type LogicOp = "&&" | "||";

/**
 * A checked expression. Integer literals are decimal strings so that the plan stays
 * JSON (u64 values such as kernel addresses do not fit a JS number): use BigInt(value).
 */
export type Expr =
  | { kind: "int"; value: string; type: ValueType; range: SourceRange }
  | { kind: "string"; value: string; type: ValueType; range: SourceRange }
  | { kind: "field"; field: TracepointField; type: ValueType; range: SourceRange }
  | { kind: "builtin"; name: BuiltinName; type: ValueType; range: SourceRange }
  | { kind: "not"; operand: Expr; type: ValueType; range: SourceRange }
  | { kind: "compare"; op: CompareOp; left: Expr; right: Expr; type: ValueType; range: SourceRange }
  | { kind: "logic"; op: LogicOp; left: Expr; right: Expr; type: ValueType; range: SourceRange };

export interface ProbePlan {
  /** "sched:sched_wakeup"; "usdt:/abs/path:provider:name" for a user-space probe. */
  id: string;
  /** The tracepoint's category; "uprobe", "uretprobe" or "usdt" for a user-space probe. */
  category: string;
  /** The tracepoint's name; a user-space probe's symbol or USDT name, reduced to [A-Za-z0-9_]. */
  name: string;
  /** tracefs event id (perf_event_attr.config for PERF_TYPE_TRACEPOINT); -1 for user-space probes. */
  eventId: number;
  /**
   * Every field of the tracepoint's format (common_* included), in offset order. For a
   * user-space probe: `arg0`… or `retval`, each with `offset` = its index in a site's
   * `arguments` (no common_* fields).
   */
  fields: TracepointField[];
  /** Set for uprobes, uretprobes and USDT probes: what a backend attaches and reads. */
  user?: UserProbePlan;
}

/** A user-space probe, resolved at check time (src/compiler/uprobe/). x86-64. */
export interface UserProbePlan {
  kind: "uprobe" | "uretprobe" | "usdt";
  /** Absolute, symlink-free path of the binary or library. */
  path: string;
  /** "lt_add", "lt_add+4", "0x1139"; "provider:name" for USDT. */
  spec: string;
  /** One attachment each; a USDT probe inlined twice has two sites. */
  sites: UserProbeSitePlan[];
}

export interface UserProbeSitePlan {
  /** Link-time virtual address: a relocated operand's load bias is regs->ip − this. */
  address: number;
  /** Where the probe goes in the file (the uprobe PMU's probe_offset). */
  fileOffset: number;
  /** USDT semaphore's file offset (ref_ctr_offset); 0 when none. */
  refCtrOffset: number;
  /**
   * Where each field's value is at this site, indexed by the field's `offset`: the SysV
   * argument registers of a uprobe, %rax of a uretprobe, the note's operands of a USDT site.
   */
  arguments: UserArgument[];
  /** The tracefs uprobe_events name `ltsh record --for-file` gives this site. */
  recorderEvent: string;
}

export interface UserArgument {
  /** As the note writes it ("-4@-20(%rbp)"), or the register ("%rdi"). */
  text: string;
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  location: UserArgLocation;
}

/** Offsets are into x86-64 `struct pt_regs`; numbers that may exceed 2^53 are decimal strings. */
export type UserArgLocation =
  | { kind: "constant"; value: string }
  | { kind: "register"; ptRegsOffset: number; bitOffset: 0 | 8 }
  | {
      kind: "memory";
      /** pt_regs offset of the base register; null for none (and for %rip: see relocated). */
      base: number | null;
      index: number | null;
      scale: 1 | 2 | 4 | 8;
      /** Displacement, with the symbol's link-time address already added. */
      displacement: string;
      /** Add the load bias (regs->ip − site address): %rip- or symbol-relative operands. */
      relocated: boolean;
    };

/** The most bytes `str(EXPR)` reads from user space, NUL included. */
export const USER_STRING_SIZE = 64;
/**
 * The bytes a variable-length string field (`__data_loc char[]`: irq_handler_entry's name,
 * sched_process_exec's filename) is read into, NUL included: every backend sees its first
 * 63 bytes, so filters, keys and printed values agree on longer strings too.
 */
export const DATA_LOC_STRING_SIZE = 64;
/** The C type of the field `str(argN)` makes (`argN_str`, char[64]): a string read through a pointer. */
export const USER_STRING_CTYPE = "ustring";

/** One alternative of a tracker side: `probe(key, ...) [where filter]`. */
export interface ProbeSide {
  probe: ProbePlan;
  /** Same length and element types as TrackerPlan.keyTypes. */
  key: Expr[];
  /** Boolean expression; null when there is no `where`. */
  filter: Expr | null;
  range: SourceRange;
}

export type Action =
  | { kind: "print"; range: SourceRange }
  | { kind: "snapshot"; range: SourceRange }
  | { kind: "stack"; range: SourceRange }
  | { kind: "exec"; argv: string[]; range: SourceRange };

export type KeepPolicy = "first" | "last";

/** How people read a captured integer: task state letters, a system call's or softirq's name. */
export type FieldSymbols = "task-state" | "syscall" | "softirq";

/**
 * A value of the begin and end events carried into the hit: a `then print(FIELD)` field, or
 * the field that names the key's task (`next_comm` for a key `next_pid`). Each backend keeps
 * the begin's value with the pending begin and reads the end's at the end.
 */
export interface CapturedValue {
  /** The field's name; the hit's `fields` use it. */
  name: string;
  /** Integers are kept widened to 64 bits; strings at the largest size a probe has. */
  type: ValueType;
  /** Per begin alternative: the field read there, or null when that probe has none of the name. */
  begins: (Expr | null)[];
  ends: (Expr | null)[];
  /** Set when the field's numbers have names (the hit shows them in `fields_text`). */
  symbols: FieldSymbols | null;
  /** A `then print` field; false for the key task's name (shown as `key_comm`). */
  shown: boolean;
}

/**
 * Where an event names the task its key part is: a captured comm field, the event's own
 * task ($tid), its process ($pid: the event's comm when that thread leads it); null: the
 * event does not say (backends with the live system ask /proc/PID/comm).
 */
export type TaskNameSource =
  | { kind: "capture"; capture: number }
  | { kind: "thread" }
  | { kind: "process" }
  | null;

/** The key part that is a task id (a pid_t field, `pid`, `$tid`, `$pid`), named in the hit. */
export interface KeyTask {
  /** Index in the key. */
  index: number;
  begins: TaskNameSource[];
  ends: TaskNameSource[];
}

/**
 * One probe of a chain, in the order written. The origin creates the chain; every later
 * step must be reached in order. `via` says how: "context" (`~>`: the step fires in an
 * execution context holding the chain) or "key" (`->`: the previous step's key values
 * hand the chain over, and the next event with an equal key takes it from any thread).
 */
export interface ChainStep {
  via: "origin" | "context" | "key";
  /** The key is empty unless the step pairs by key (it or the next step is `->`). */
  side: ProbeSide;
}

/** A critical-path tracker: `ORIGIN ~> [WAYPOINT ~> ...] TARGET [until run|block]`. */
export interface ChainPlan {
  /** Origin, waypoints, target; at least two. */
  steps: ChainStep[];
  /** run: the chain ends at the target; block: when the target's task next blocks. */
  until: "run" | "block";
}

/** The most steps (origin, waypoints, target) a chain has in the language. */
export const MAX_CHAIN_STEPS = 8;

export interface TrackerPlan {
  /** Given (`track NAME:`) or derived: "<begin probe name>_to_<end probe name>", made unique. */
  name: string;
  /** One or more alternatives; a pair starts on whichever fires. */
  begins: ProbeSide[];
  /** One or more alternatives; the first matching end for a pending key closes the pair. */
  ends: ProbeSide[];
  /** Shape of the key, shared by every begin and end alternative. */
  keyTypes: ValueType[];
  /** Pairs with latency strictly greater than this are hits; null: aggregate only. */
  thresholdNs: number | null;
  /** A begin with no end within this many ns gives one timeout hit; null: no timeouts. */
  timeoutNs: number | null;
  /** When a begin arrives for a key already pending: keep the first begin or replace it with the last. */
  keep: KeepPolicy;
  /** Most pending begins at once; begins beyond it are dropped and counted. */
  capacity: number;
  /** Never empty: the checker adds `print` when the source lists no action. */
  actions: Action[];
  /**
   * `cancel PROBE(key)`: an event of one of these with a pending key forgets that begin
   * (counted as `cancelled`). Planned trackers always have it; hand-built plans may not.
   */
  cancels?: ProbeSide[];
  /**
   * Set for chain trackers (then `begins` is the origin and `ends` the target, for
   * displays; the chain's steps are the semantics). null or absent: a plain tracker.
   */
  chain?: ChainPlan | null;
  /** Values the hits carry (`then print` fields, the key task's name); absent: none. */
  captures?: CapturedValue[];
  /** The key part naming a task, shown with its name (`key_comm`); absent or null: none. */
  keyTask?: KeyTask | null;
  /** The whole `track` statement, and its text for dumps and `:save`. */
  range: SourceRange;
  source: string;
}

export type OptionValue = string | number | boolean | string[];

/** A `.lt` file (or the shell's statements) checked: its trackers and its options. */
export interface FilePlan {
  file: string;
  trackers: TrackerPlan[];
  /** `set NAME = VALUE` options after checking, defaults filled in, keyed by the option's name. */
  options: Record<string, OptionValue>;
}

/** Defaults shared by the checker and the documentation. */
export const DEFAULT_CAPACITY = 8192;
export const DEFAULT_KEEP: KeepPolicy = "first";
