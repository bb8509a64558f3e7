// The input hook: maps key presses to reducer actions, and Enter/Tab to the controller
// (submit a line, complete a word). Pasted text with newlines submits line by line. While a
// snapshot is open (:show), the keys go to the timeline (./use-timeline-input.ts) until q.

import { type Key, useInput } from "ink";
import { type Completion, complete, type Vocabulary } from "./completion.ts";
import type { Outcome } from "./controller.ts";
import type { PromptKeys } from "./narration.ts";
import type { Action, PickableHit, ShellState } from "./state.ts";
import type { Timeline } from "./timeline-model.ts";
import { timelineKeys } from "./use-timeline-input.ts";

export interface InputHandlers {
  /** Always the newest state: keys of one chunk arrive before React renders. */
  getState(): ShellState;
  dispatch(action: Action): void;
  submit(line: string): Promise<Outcome>;
  vocabulary: Vocabulary;
  onClearScreen(): void;
  /** Reads a snapshot for the viewer (`[` and `]` open the previous and next hit's). */
  loadSnapshot(path: string): Promise<Timeline>;
  /** The kept hits with a snapshot, oldest first: what shift+up/down picks from. */
  pickableHits(): PickableHit[];
  /** Keys acting on an empty prompt (a demo's `f`). */
  promptKeys?: PromptKeys;
  /** Lines run one after the other, in the order they were entered. */
  queue: { last: Promise<void> };
}

const CTRL_KEYS: Record<string, Action["type"]> = {
  a: "home",
  e: "end",
  b: "left",
  f: "right",
  u: "killToStart",
  k: "killToEnd",
  w: "killWord",
  p: "historyPrev",
  n: "historyNext",
};

/** Pure: the action for a key that only edits the line, or null. */
export function editAction(input: string, key: Key): Action | null {
  if (key.pageDown) return { type: "selectNext", direction: 1 };
  if (key.pageUp) return { type: "selectNext", direction: -1 };
  if (key.upArrow) return { type: "historyPrev" };
  if (key.downArrow) return { type: "historyNext" };
  if (key.leftArrow) return { type: key.ctrl || key.meta ? "wordLeft" : "left" };
  if (key.rightArrow) return { type: key.ctrl || key.meta ? "wordRight" : "right" };
  if (key.home) return { type: "home" };
  if (key.end) return { type: "end" };
  if (key.backspace) return { type: key.meta ? "killWord" : "backspace" };
  if (key.delete) return { type: "delete" };
  if (key.ctrl && input in CTRL_KEYS) return { type: CTRL_KEYS[input] } as Action;
  if (key.meta && input === "b") return { type: "wordLeft" };
  if (key.meta && input === "f") return { type: "wordRight" };
  return null;
}

export function useShellInput(handlers: InputHandlers): void {
  useInput((input, key) => handleKey(handlers, input, key));
}

export function handleKey(handlers: InputHandlers, input: string, key: Key): void {
  const { dispatch, getState } = handlers;
  if (getState().quitting) return;
  if (getState().viewer !== null) {
    // The timeline (:show) has the keys until q; then the prompt has them again.
    viewerKey(handlers, input, key);
    return;
  }
  if ((key.shift || key.meta) && (key.upArrow || key.downArrow)) {
    dispatch({ type: "pick", hits: handlers.pickableHits(), direction: key.upArrow ? -1 : 1 });
    return;
  }
  if (getState().picked !== null && pickedKey(handlers, key)) return;
  const action = editAction(input, key);
  if (action) dispatch(action);
  else if (key.return) void submitLine(handlers, getState().line.text);
  else if (key.tab) completeWord(handlers);
  else if (key.ctrl && input === "c") dispatch({ type: "interrupt" });
  else if (key.ctrl && input === "d")
    dispatch({ type: getState().line.text === "" ? "quit" : "delete" });
  else if (key.ctrl && input === "l") handlers.onClearScreen();
  else if (getState().line.text === "" && handlers.promptKeys?.[input])
    handlers.promptKeys[input]({ run: (line) => void submitLine(handlers, line) });
  else if (!key.ctrl && !key.meta && !key.escape && input !== "") insertTyped(handlers, input);
}

/** Typed or pasted text: newlines submit (see pastedStatements), other controls are dropped. */
function insertTyped(handlers: InputHandlers, input: string): void {
  if (!/[\r\n]/.test(input)) {
    const text = clean(input);
    if (text) handlers.dispatch({ type: "insert", text });
    return;
  }
  const { submit, rest } = pastedStatements(handlers.getState().line.text, input);
  handlers.dispatch({ type: "killToStart" });
  handlers.dispatch({ type: "killToEnd" });
  for (const statement of submit) void submitLine(handlers, statement);
  if (rest) handlers.dispatch({ type: "insert", text: rest });
}

function clean(text: string): string {
  return text.replace(/\t/g, " ").replace(/[\x00-\x1f\x7f]/g, "");
}

/**
 * A paste of several lines, e.g. a tracker copied from examples/: comments go, lines that
 * continue a statement (anything not starting with track, set or :) join it, and every
 * statement ended by a newline is submitted. What follows the last newline stays typed.
 * `before` is the line already at the prompt; the paste continues it.
 */
export function pastedStatements(
  before: string,
  input: string,
): { submit: string[]; rest: string } {
  const lines = input.replace(/\r\n?/g, "\n").split("\n");
  const rest = clean(lines.pop() ?? "");
  const submit: string[] = [];
  let current = before + clean(stripComment(lines.shift() ?? ""));
  for (const raw of lines) {
    const line = clean(stripComment(raw)).trim();
    if (line === "") continue;
    if (/^(?:track|set)\b|^:/.test(line) && current.trim() !== "") {
      submit.push(current.trim());
      current = line;
    } else {
      current = current.trim() === "" ? line : `${current.trimEnd()} ${line}`;
    }
  }
  if (current.trim() !== "") submit.push(current.trim());
  return { submit, rest };
}

/** A line without its `# comment` (a # inside a string is kept). */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\\" && quoted) i++;
    else if (line[i] === '"') quoted = !quoted;
    else if (line[i] === "#" && !quoted) return line.slice(0, i);
  }
  return line;
}

export function submitLine(handlers: InputHandlers, text: string): Promise<void> {
  const { dispatch, queue } = handlers;
  if (text.trim() === "") {
    dispatch({ type: "accepted", input: text, output: [] });
    return queue.last;
  }
  dispatch({ type: "submitStart" });
  queue.last = queue.last.then(async () => {
    // A failure inside the shell must not kill it: the line comes back with the error.
    const outcome = await handlers
      .submit(text)
      .catch((error: Error): Outcome => ({ ok: false, error: `internal error: ${error.message}` }));
    if (!outcome.ok) {
      dispatch({ type: "rejected", input: text, error: outcome.error });
      return;
    }
    dispatch({ type: "accepted", input: text, output: outcome.output, select: outcome.select });
    if (outcome.show) dispatch({ type: "openViewer", ...outcome.show });
    if (outcome.clearScreen) handlers.onClearScreen();
    if (outcome.quit) dispatch({ type: "quit" });
  });
  return queue.last;
}

/**
 * With a hit picked: Enter opens its snapshot, Esc forgets the pick; any other key forgets
 * it and does what it does at the prompt. True when the key was used up.
 */
function pickedKey(handlers: InputHandlers, key: Key): boolean {
  const picked = handlers.getState().picked!;
  handlers.dispatch({ type: "unpick" });
  if (key.escape) return true;
  if (!key.return) return false;
  const paths = picked.hits.map((h) => h.snapshot);
  void openSnapshot(handlers, paths, picked.index);
  return true;
}

/** Opens one of `paths` in the viewer, or says why it cannot. */
async function openSnapshot(handlers: InputHandlers, paths: string[], index: number) {
  try {
    const timeline = await handlers.loadSnapshot(paths[index]);
    handlers.dispatch({ type: "openViewer", timeline, paths, index });
  } catch (error) {
    handlers.dispatch({
      type: "print",
      lines: [`warning: ${(error as Error).message}`],
      tone: "warning",
    });
  }
}

function viewerKey(handlers: InputHandlers, input: string, key: Key): void {
  if (input === "[" || input === "]") {
    void stepSnapshot(handlers, input === "[" ? -1 : 1);
    return;
  }
  for (const action of timelineKeys(input, key)) {
    if (action === "quit") handlers.dispatch({ type: "closeViewer" });
    else handlers.dispatch({ type: "viewer", action });
  }
}

/** `[` / `]` in the viewer: the previous or next kept hit's snapshot, when there is one. */
async function stepSnapshot(handlers: InputHandlers, direction: -1 | 1): Promise<void> {
  const hits = handlers.getState().viewerHits;
  if (hits === null) return;
  const index = hits.index + direction;
  if (index < 0 || index >= hits.paths.length) return;
  try {
    const timeline = await handlers.loadSnapshot(hits.paths[index]);
    // Only if the viewer is still on the snapshot the step started from.
    if (handlers.getState().viewerHits?.index !== hits.index) return;
    handlers.dispatch({ type: "openViewer", timeline, paths: hits.paths, index });
  } catch (error) {
    handlers.dispatch({
      type: "print",
      lines: [`warning: ${(error as Error).message}`],
      tone: "warning",
    });
  }
}

function completeWord(handlers: InputHandlers): void {
  const { line } = handlers.getState();
  const result: Completion = complete(line, handlers.vocabulary);
  handlers.dispatch({ type: "completed", line: result.line, candidates: result.candidates });
}
