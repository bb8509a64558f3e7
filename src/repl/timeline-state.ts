// The timeline view's state and its pure reducer: the visible time range (zoom and pan) and
// the event under the cursor (step from event to event). Tests drive it with no rendering.

import type { Timeline } from "./timeline-model.ts";

export interface TimelineState {
  timeline: Timeline;
  /** Visible range, in timeline nanoseconds. */
  fromNs: number;
  toNs: number;
  /** Index of the event under the cursor, or null when the snapshot has none selected. */
  cursor: number | null;
}

export type TimelineAction = {
  type:
    | "zoomIn"
    | "zoomOut"
    | "panLeft"
    | "panRight"
    | "nextEvent"
    | "prevEvent"
    | "fitHit"
    | "fitAll"
    | "firstEvent"
    | "lastEvent";
};

/** Narrowest range shown: a few columns per microsecond is as far as a trace in µs goes. */
export const MIN_RANGE_NS = 2_000;
/** A pan moves the view by this share of its width. */
const PAN_SHARE = 0.25;

/** Opens on the hit's span with as much context on each side, the cursor on its first event. */
export function initialTimelineState(timeline: Timeline): TimelineState {
  const fitted = fitHit(timeline);
  const first = timeline.marks[0]?.event ?? firstEventAt(timeline, fitted.fromNs);
  return { timeline, ...fitted, cursor: timeline.events.length === 0 ? null : first };
}

export function timelineReducer(state: TimelineState, action: TimelineAction): TimelineState {
  switch (action.type) {
    case "zoomIn":
      return zoom(state, 0.5);
    case "zoomOut":
      return zoom(state, 2);
    case "panLeft":
      return pan(state, -PAN_SHARE);
    case "panRight":
      return pan(state, PAN_SHARE);
    case "nextEvent":
      return moveCursor(state, (state.cursor ?? -1) + 1);
    case "prevEvent":
      return moveCursor(state, (state.cursor ?? 1) - 1);
    case "firstEvent":
      return moveCursor(state, 0);
    case "lastEvent":
      return moveCursor(state, state.timeline.events.length - 1);
    case "fitHit":
      return { ...state, ...fitHit(state.timeline) };
    case "fitAll":
      return { ...state, ...wholeWindow(state.timeline) };
    default:
      return state;
  }
}

function wholeWindow(timeline: Timeline): { fromNs: number; toNs: number } {
  return { fromNs: 0, toNs: Math.max(timeline.endNs, MIN_RANGE_NS) };
}

/** The span with half its length of context on each side, inside the window. */
function fitHit(timeline: Timeline): { fromNs: number; toNs: number } {
  const span = timeline.span;
  if (span === null) return wholeWindow(timeline);
  const context = Math.max((span.toNs - span.fromNs) / 2, MIN_RANGE_NS / 2);
  return clampRange(timeline, span.fromNs - context, span.toNs + context);
}

/** Keeps the width, slides the range back inside [0, end] (a wider range shows it all). */
function clampRange(timeline: Timeline, fromNs: number, toNs: number) {
  const width = Math.max(toNs - fromNs, MIN_RANGE_NS);
  const end = Math.max(timeline.endNs, MIN_RANGE_NS);
  if (width >= end) return { fromNs: 0, toNs: end };
  const from = Math.min(Math.max(0, fromNs), end - width);
  return { fromNs: from, toNs: from + width };
}

/** Zooms around the cursor when it is in view (it stays put), else around the centre. */
function zoom(state: TimelineState, factor: number): TimelineState {
  const { fromNs, toNs } = state;
  const cursorNs = state.cursor === null ? null : state.timeline.events[state.cursor].ns;
  const anchor =
    cursorNs !== null && cursorNs >= fromNs && cursorNs <= toNs ? cursorNs : (fromNs + toNs) / 2;
  const width = Math.max((toNs - fromNs) * factor, MIN_RANGE_NS);
  const share = (anchor - fromNs) / (toNs - fromNs);
  return {
    ...state,
    ...clampRange(state.timeline, anchor - share * width, anchor + (1 - share) * width),
  };
}

function pan(state: TimelineState, share: number): TimelineState {
  const shift = (state.toNs - state.fromNs) * share;
  return { ...state, ...clampRange(state.timeline, state.fromNs + shift, state.toNs + shift) };
}

/** Selects an event; a view that does not show it is centred on it (same zoom). */
function moveCursor(state: TimelineState, index: number): TimelineState {
  const count = state.timeline.events.length;
  if (count === 0) return state;
  const cursor = Math.min(Math.max(0, index), count - 1);
  const ns = state.timeline.events[cursor].ns;
  if (ns >= state.fromNs && ns <= state.toNs) return { ...state, cursor };
  const half = (state.toNs - state.fromNs) / 2;
  return { ...state, cursor, ...clampRange(state.timeline, ns - half, ns + half) };
}

function firstEventAt(timeline: Timeline, ns: number): number {
  const index = timeline.events.findIndex((event) => event.ns >= ns);
  return Math.max(index, 0);
}
