// The actions a tracker runs on a hit: one registry entry per action, used by the checker,
// the docs and the shell's completion.

import type { SourceRange } from "./diagnostic.ts";
import type { Action, TrackerPlan } from "./plan.ts";

export interface ActionKind {
  name: Action["kind"];
  /** `exec "cmd"` takes a command string. */
  takesCommand: boolean;
  /** `print(FIELD, ...)` may name fields of the begin and end events to show with the hit. */
  takesFields: boolean;
  doc: string;
}

export const ACTIONS: ActionKind[] = [
  {
    name: "print",
    takesCommand: false,
    takesFields: true,
    doc: "print the hit (the default when a tracker lists no action); print(prev_state, id) adds those fields of the begin and end events",
  },
  {
    name: "snapshot",
    takesCommand: false,
    takesFields: false,
    doc: "save the flight-recorder trace around the hit (see the snapshot.* options)",
  },
  {
    name: "stack",
    takesCommand: false,
    takesFields: false,
    doc: "record the kernel stack of the end event",
  },
  {
    name: "exec",
    takesCommand: true,
    takesFields: false,
    doc: 'run a command, split into argv without a shell: exec "perf record -a -- sleep 1"',
  },
];

export function findAction(name: string): ActionKind | undefined {
  return ACTIONS.find((a) => a.name === name);
}

export function makeAction(kind: ActionKind, argv: string[], range: SourceRange): Action {
  return kind.name === "exec" ? { kind: "exec", argv, range } : { kind: kind.name, range };
}

/**
 * Splits a command like a shell would split words, but runs no shell: single and double
 * quotes group words, a backslash escapes the next character. Returns null on an open quote.
 */
export function splitCommand(command: string): string[] | null {
  const argv: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= "";
    } else if (ch === "\\" && i + 1 < command.length) {
      word = (word ?? "") + command[++i];
    } else if (/\s/.test(ch)) {
      if (word !== null) argv.push(word);
      word = null;
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (quote) return null;
  if (word !== null) argv.push(word);
  return argv;
}

/** Whether the tracker runs this action on a hit. */
export function hasAction(plan: TrackerPlan, kind: Action["kind"]): boolean {
  return plan.actions.some((a) => a.kind === kind);
}
