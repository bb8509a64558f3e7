// The shell's state and its pure reducer: the prompt line, history, completion choices,
// the inline error, lines printed above (the <Static> feed), tracker rows, the status and
// the snapshot open in the timeline (:show; its own reducer is ./timeline-state.ts).
// Everything the screen shows is derived from this; tests drive it with no rendering.

import type { HitRecord, SummaryRecord } from "../records/types.ts";
import * as edit from "./line-editor.ts";
import { EMPTY_LINE, type Line, lineOf } from "./line-editor.ts";
import type { Timeline } from "./timeline-model.ts";
import {
  initialTimelineState,
  type TimelineAction,
  type TimelineState,
  timelineReducer,
} from "./timeline-state.ts";

export type Tone = "hit" | "timeout" | "echo" | "output" | "info" | "warning" | "error";

/** Lines printed together (one flush of hits, one command's output): one <Static> item. */
export interface FeedBlock {
  id: number;
  lines: string[];
  tone: Tone;
}

/** One row of the trackers table: what the plan says plus the backend's live counters. */
export interface TrackerRow {
  name: string;
  /** "sched_wakeup -> sched_switch" */
  probes: string;
  thresholdNs: number | null;
  /** "done": the backend finished it (the replayed trace ended). */
  state: "running" | "stopped" | "done";
  summary: SummaryRecord;
  /** Chain trackers: the worst of the recent hits, drawn as a waterfall; else null. */
  worst?: HitRecord | null;
}

export interface StatusInfo {
  /** "live eBPF", "replay trace.txt", "kmod" */
  backend: string;
  elapsedMs: number;
  pairsPerSecond: number;
  hitsPerSecond: number;
  /** Begins dropped and hits lost, summed over trackers, plus feed lines not shown. */
  dropped: number;
  /** Hits the feed did not print because they came faster than a person can read. */
  feedSkipped: number;
  /** Where :metrics serves ("127.0.0.1:9464"); absent when it does not. */
  metrics?: string;
}

export interface HistoryState {
  entries: string[];
  /** Index into entries while browsing with up/down; null when editing a fresh line. */
  index: number | null;
  /** The unfinished line saved when browsing starts, restored past the newest entry. */
  draft: string;
}

export interface ShellState {
  line: Line;
  history: HistoryState;
  /** Completion choices shown under the prompt after an ambiguous Tab. */
  candidates: string[];
  /** Rendered diagnostics for the line at the prompt (kept so the user can fix it). */
  error: string | null;
  /** A one-line hint under the prompt ("press Ctrl-C again to quit"). */
  notice: string | null;
  /**
   * Blocks for <Static>. A new generation (a fresh <Static>) starts when the array would
   * grow past PRINTED_LIMIT, so memory stays bounded however long the session runs.
   */
  printed: { generation: number; blocks: FeedBlock[] };
  nextBlockId: number;
  trackers: TrackerRow[];
  /** Tracker whose histogram is drawn. */
  selected: string | null;
  status: StatusInfo;
  /** A command is running (the prompt ignores Enter until it answers). */
  busy: boolean;
  ctrlCArmed: boolean;
  quitting: boolean;
  /** A snapshot open in the timeline view (:show): it takes the keys until q. */
  viewer: TimelineState | null;
  /** The snapshots `[` and `]` step through while the viewer is open, and which one is shown. */
  viewerHits: { paths: string[]; index: number } | null;
  /** A hit of the feed picked with shift+up/down (alt too): Enter opens its snapshot. */
  picked: { hits: PickableHit[]; index: number } | null;
}

/** A kept hit with a snapshot, as the pick line shows it. */
export interface PickableHit {
  line: string;
  snapshot: string;
}

export const PRINTED_LIMIT = 200;
export const HISTORY_LIMIT = 1000;

export type Action =
  | { type: "insert"; text: string }
  | {
      type:
        | "backspace"
        | "delete"
        | "left"
        | "right"
        | "wordLeft"
        | "wordRight"
        | "home"
        | "end"
        | "killToStart"
        | "killToEnd"
        | "killWord"
        | "historyPrev"
        | "historyNext"
        | "interrupt"
        | "quit"
        | "submitStart";
    }
  | { type: "completed"; line: Line; candidates: string[] }
  | { type: "accepted"; input: string; output: string[]; tone?: Tone; select?: string }
  | { type: "rejected"; input: string; error: string }
  | { type: "print"; lines: string[]; tone: Tone }
  | { type: "stats"; trackers: TrackerRow[]; status: StatusInfo }
  | { type: "select"; tracker: string | null }
  | { type: "selectNext"; direction: 1 | -1 }
  | { type: "pick"; hits: PickableHit[]; direction: 1 | -1 }
  | { type: "unpick" }
  | { type: "openViewer"; timeline: Timeline; paths?: string[]; index?: number }
  | { type: "viewer"; action: TimelineAction }
  | { type: "closeViewer" };

export function initialState(backend: string, history: string[] = []): ShellState {
  return {
    line: EMPTY_LINE,
    history: { entries: history.slice(-HISTORY_LIMIT), index: null, draft: "" },
    candidates: [],
    error: null,
    notice: null,
    printed: { generation: 0, blocks: [] },
    nextBlockId: 0,
    trackers: [],
    selected: null,
    status: {
      backend,
      elapsedMs: 0,
      pairsPerSecond: 0,
      hitsPerSecond: 0,
      dropped: 0,
      feedSkipped: 0,
    },
    busy: false,
    ctrlCArmed: false,
    quitting: false,
    viewer: null,
    viewerHits: null,
    picked: null,
  };
}

const EDITS: Partial<Record<Action["type"], (line: Line) => Line>> = {
  backspace: edit.deleteBackward,
  delete: edit.deleteForward,
  left: (line) => edit.moveCursor(line, -1),
  right: (line) => edit.moveCursor(line, 1),
  wordLeft: (line) => edit.moveWord(line, -1),
  wordRight: (line) => edit.moveWord(line, 1),
  home: edit.moveHome,
  end: edit.moveEnd,
  killToStart: edit.killToStart,
  killToEnd: edit.killToEnd,
  killWord: edit.killWordBackward,
};

export function reducer(state: ShellState, action: Action): ShellState {
  const lineEdit = EDITS[action.type];
  if (lineEdit) return editedLine(state, lineEdit(state.line));
  switch (action.type) {
    case "insert":
      return editedLine(state, edit.insertText(state.line, action.text));
    case "historyPrev":
      return browseHistory(state, -1);
    case "historyNext":
      return browseHistory(state, 1);
    case "completed":
      return { ...state, line: action.line, candidates: action.candidates, notice: null };
    case "submitStart":
      // The prompt empties at once, as in any shell: what is typed next is a new line.
      return {
        ...state,
        line: EMPTY_LINE,
        history: { ...state.history, index: null, draft: "" },
        busy: true,
        candidates: [],
        notice: null,
        ctrlCArmed: false,
      };
    case "accepted":
      return accepted(state, action);
    case "rejected":
      return {
        ...state,
        // The line comes back for fixing, unless the user has typed something else since.
        line: state.line.text === "" ? lineOf(action.input) : state.line,
        busy: false,
        error: action.error,
        history: pushHistory(state.history, action.input),
      };
    case "print":
      return appendPrinted(state, action.lines, action.tone);
    case "stats":
      return withStats(state, action.trackers, action.status);
    case "select":
      return { ...state, selected: action.tracker };
    case "selectNext":
      return selectNext(state, action.direction);
    case "interrupt":
      return interrupt(state);
    case "quit":
      return { ...state, quitting: true };
    case "pick":
      return pick(state, action.hits, action.direction);
    case "unpick":
      return state.picked ? { ...state, picked: null, notice: null } : state;
    case "openViewer": {
      const { paths, index } = action;
      const viewerHits = paths && index !== undefined ? { paths, index } : null;
      return {
        ...state,
        viewer: initialTimelineState(action.timeline),
        viewerHits,
        picked: null,
      };
    }
    case "viewer":
      return state.viewer
        ? { ...state, viewer: timelineReducer(state.viewer, action.action) }
        : state;
    case "closeViewer":
      return { ...state, viewer: null, viewerHits: null };
    default:
      return state;
  }
}

/** Any edit leaves history browsing, hides stale completion choices and disarms Ctrl-C. */
function editedLine(state: ShellState, line: Line): ShellState {
  if (line === state.line) return state;
  return { ...state, line, candidates: [], notice: null, ctrlCArmed: false };
}

function browseHistory(state: ShellState, direction: -1 | 1): ShellState {
  const { entries, index, draft } = state.history;
  if (entries.length === 0) return state;
  const current = index ?? entries.length;
  const next = Math.max(0, Math.min(entries.length, current + direction));
  if (next === current) return state;
  const savedDraft = index === null ? state.line.text : draft;
  const text = next === entries.length ? savedDraft : entries[next];
  return {
    ...state,
    line: lineOf(text),
    candidates: [],
    history: { entries, index: next === entries.length ? null : next, draft: savedDraft },
  };
}

function pushHistory(history: HistoryState, input: string): HistoryState {
  const trimmed = input.trim();
  const entries =
    trimmed === "" || history.entries.at(-1) === trimmed
      ? history.entries
      : [...history.entries, trimmed].slice(-HISTORY_LIMIT);
  return { entries, index: null, draft: "" };
}

function accepted(state: ShellState, action: Extract<Action, { type: "accepted" }>): ShellState {
  const echoed = appendPrinted(state, [`ltsh> ${action.input}`], "echo");
  const withOutput = appendPrinted(echoed, action.output, action.tone ?? "output");
  return {
    ...withOutput,
    // What was typed after the submitted line (a paste's last line) stays at the prompt.
    line: state.line.text === action.input ? EMPTY_LINE : state.line,
    error: null,
    busy: false,
    history: pushHistory(state.history, action.input),
    selected: action.select ?? state.selected,
  };
}

export function appendPrinted(state: ShellState, lines: string[], tone: Tone): ShellState {
  if (lines.length === 0) return state;
  const block = { id: state.nextBlockId, lines, tone };
  const { generation, blocks } = state.printed;
  const printed =
    blocks.length >= PRINTED_LIMIT
      ? { generation: generation + 1, blocks: [block] }
      : { generation, blocks: [...blocks, block] };
  return { ...state, printed, nextBlockId: state.nextBlockId + 1 };
}

function withStats(state: ShellState, trackers: TrackerRow[], status: StatusInfo): ShellState {
  const names = trackers.map((t) => t.name);
  const selected =
    state.selected !== null && names.includes(state.selected)
      ? state.selected
      : (names.at(-1) ?? null);
  return { ...state, trackers, status, selected };
}

/** PageDown/PageUp: the next or previous tracker's histogram, wrapping around. */
function selectNext(state: ShellState, direction: 1 | -1): ShellState {
  const names = state.trackers.map((t) => t.name);
  if (names.length === 0) return state;
  const at = state.selected === null ? -1 : names.indexOf(state.selected);
  const next = (at + direction + names.length) % names.length;
  return { ...state, selected: names[next] };
}

/**
 * shift+up/down: picks the newest kept hit with a snapshot, then older (-1) or newer (+1)
 * ones; the pick follows its hit when newer ones arrive.
 */
function pick(state: ShellState, hits: PickableHit[], direction: 1 | -1): ShellState {
  if (hits.length === 0) {
    const notice = "no hit has a snapshot to open yet (a tracker takes them with then snapshot)";
    return { ...state, picked: null, notice };
  }
  const current = state.picked?.hits[state.picked.index]?.snapshot;
  const at = current === undefined ? -1 : hits.findIndex((h) => h.snapshot === current);
  const index = at < 0 ? hits.length - 1 : Math.max(0, Math.min(hits.length - 1, at + direction));
  return { ...state, picked: { hits, index }, notice: null };
}

/** Ctrl-C: clears a typed line; on an empty line, arms, and a second Ctrl-C quits. */
function interrupt(state: ShellState): ShellState {
  if (state.line.text !== "") {
    return {
      ...state,
      line: EMPTY_LINE,
      error: null,
      candidates: [],
      history: { ...state.history, index: null },
    };
  }
  if (state.ctrlCArmed) return { ...state, quitting: true };
  return { ...state, ctrlCArmed: true, notice: "(press Ctrl-C again to quit, or type :quit)" };
}
