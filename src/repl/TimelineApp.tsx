// `ltsh show FILE`: the timeline on its own, filling the terminal and following resizes;
// q leaves. The shell shows the same view through its own state (see App.tsx).

import { useWindowSize } from "ink";
import { useCallback, useReducer } from "react";
import { TimelineView } from "./TimelineView.tsx";
import type { Timeline } from "./timeline-model.ts";
import { initialTimelineState, timelineReducer } from "./timeline-state.ts";
import { useTimelineInput } from "./use-timeline-input.ts";

export interface TimelineAppProps {
  timeline: Timeline;
  onQuit(): void;
  /** A fixed terminal size (tests); the real one otherwise. */
  size?: { columns: number; rows: number };
}

export function TimelineApp(props: TimelineAppProps) {
  const windowSize = useWindowSize();
  const { columns, rows } = props.size ?? windowSize;
  const [state, dispatch] = useReducer(timelineReducer, props.timeline, initialTimelineState);
  const { onQuit } = props;
  const quit = useCallback(() => onQuit(), [onQuit]);
  useTimelineInput(dispatch, quit);
  // One column short of the edge: a full last column makes some terminals wrap.
  return <TimelineView state={state} columns={columns - 1} rows={rows - 1} />;
}
