// The shell's root component: state from the reducer, keys from the input hook, the
// controller passed in (so tests drive it with a scripted session), and the layout that
// shares the terminal's rows between the table, the histogram and the prompt; or, while
// :show has a snapshot open, the timeline in their place.

import { Box, Text, useWindowSize } from "ink";
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { formatHitLine } from "../records/output.ts";
import type { Vocabulary } from "./completion.ts";
import type { ShellController } from "./controller.ts";
import { fit } from "./format.ts";
import { Narration, type PromptKeys } from "./narration.ts";
import { type Action, initialState, reducer, type ShellState } from "./state.ts";
import { TimelineView } from "./TimelineView.tsx";
import { loadTimeline } from "./timeline-model.ts";
import { type InputHandlers, useShellInput } from "./use-shell-input.ts";
import {
  Feed,
  HistogramPanel,
  Lines,
  PICKED_ROWS,
  PickedHit,
  Prompt,
  StatusBar,
  TrackersPanel,
} from "./views.tsx";

export interface AppProps {
  controller: ShellController;
  vocabulary: Vocabulary;
  history?: string[];
  /** Called with every line entered (to keep the history file). */
  onHistory?(line: string): void;
  /** Called once, when the user quits. */
  onQuit(): void;
  onClearScreen?(): void;
  /** A fixed terminal size (tests); the real one, following resizes, otherwise. */
  size?: { columns: number; rows: number };
  /** Lines printed when the shell opens (what is running, how to get help). */
  banner?: string[];
  /** False in tests that flush and poll the controller by hand. */
  timers?: boolean;
  /** Lines kept above the tables (a demo's narration), redrawn when they change. */
  narration?: Narration;
  /** Keys acting on an empty prompt (a demo's `f`). */
  promptKeys?: PromptKeys;
}

const NO_NARRATION = new Narration();

const MAX_ERROR_LINES = 8;
const MAX_CANDIDATE_LINES = 3;
/** Rows left for the scrolling feed above the panels, so hits stay visible. */
const FEED_ROWS = 4;

export function App(props: AppProps) {
  const { controller } = props;
  const windowSize = useWindowSize();
  const { columns, rows } = props.size ?? windowSize;
  const stateRef = useRef<ShellState | null>(null);
  if (stateRef.current === null) {
    const start = initialState(controller.backend, props.history);
    stateRef.current = props.banner
      ? reducer(start, { type: "print", lines: props.banner, tone: "info" })
      : start;
  }
  const [state, setState] = useState<ShellState>(stateRef.current);
  // The handlers live as long as the app; they read the newest props through a ref.
  const propsRef = useRef(props);
  propsRef.current = props;
  const dispatch = useCallback((action: Action) => {
    const before = stateRef.current as ShellState;
    stateRef.current = reducer(before, action);
    setState(stateRef.current);
    // Quitting is acted on at once, not in an effect: the controller must stop feeding us.
    if (stateRef.current.quitting && !before.quitting) propsRef.current.onQuit();
  }, []);

  useEffect(
    () => controller.attach(dispatch, props.timers ?? true),
    [controller, dispatch, props.timers],
  );

  const handlers = useMemo<InputHandlers>(
    () => ({
      getState: () => stateRef.current as ShellState,
      dispatch,
      submit: (line) => {
        propsRef.current.onHistory?.(line);
        return propsRef.current.controller.submit(line);
      },
      get vocabulary() {
        return propsRef.current.vocabulary;
      },
      onClearScreen: () => propsRef.current.onClearScreen?.(),
      loadSnapshot: loadTimeline,
      pickableHits: () =>
        propsRef.current.controller
          .snapshotHits()
          .map((hit) => ({ line: formatHitLine(hit), snapshot: hit.snapshot as string })),
      get promptKeys() {
        return propsRef.current.promptKeys;
      },
      queue: { last: Promise.resolve() },
    }),
    [dispatch],
  );
  useShellInput(handlers);
  const narration = props.narration ?? NO_NARRATION;
  const narrationLines = useSyncExternalStore(narration.subscribe, narration.lines);

  const width = Math.max(20, columns - 1);
  if (state.viewer !== null) {
    // :show — the timeline replaces the panels and the prompt until q; the feed goes on above.
    return (
      <>
        <Feed printed={state.printed} width={width} />
        <TimelineView
          state={state.viewer}
          columns={width}
          rows={rows - 1}
          place={state.viewerHits ?? undefined}
        />
      </>
    );
  }
  const layout = shareRows(state, width, rows - narrationLines.length);
  return (
    <>
      <Feed printed={state.printed} width={width} />
      <Box flexDirection="column" width={width}>
        {narrationLines.length > 0 && <Lines lines={narrationLines} color="magenta" />}
        <TrackersPanel state={state} width={width} maxRows={layout.tableRows} />
        <HistogramPanel state={state} width={width} maxRows={layout.histogramRows} />
        {layout.errorLines.length > 0 && <Lines lines={layout.errorLines} color="red" />}
        {layout.candidateLines.length > 0 && <Lines lines={layout.candidateLines} dim />}
        {state.notice && <Text dimColor>{fit(state.notice, width)}</Text>}
        {state.picked && <PickedHit picked={state.picked} width={width} />}
        <StatusBar state={state} width={width} />
        <Prompt state={state} width={width} />
      </Box>
    </>
  );
}

interface Layout {
  tableRows: number;
  histogramRows: number;
  errorLines: string[];
  candidateLines: string[];
}

/** The prompt, status and error come first; the table and then the histogram get the rest. */
export function shareRows(state: ShellState, width: number, rows: number): Layout {
  // A small terminal gets a shorter error: the prompt and the status stay on screen.
  const maxError = Math.min(MAX_ERROR_LINES, Math.max(2, rows - 8));
  const errorLines = clip(
    state.error ? state.error.replace(/\n$/, "").split("\n") : [],
    maxError,
    width,
  );
  const candidateLines = candidatesText(state.candidates, width);
  const fixed =
    2 +
    errorLines.length +
    candidateLines.length +
    (state.notice ? 1 : 0) +
    (state.picked ? PICKED_ROWS : 0);
  const free = Math.max(0, rows - FEED_ROWS - fixed);
  const tableRows = Math.max(1, Math.min(state.trackers.length, 5, free - 2));
  const tableLines =
    state.trackers.length === 0 ? 1 : 1 + Math.min(state.trackers.length, tableRows);
  const histogramRows = Math.max(0, Math.min(13, free - tableLines));
  return { tableRows, histogramRows, errorLines, candidateLines };
}

function clip(lines: string[], max: number, width: number): string[] {
  const shown =
    lines.length > max
      ? [...lines.slice(0, max - 1), `… ${lines.length - max + 1} more lines`]
      : lines;
  return shown.map((line) => fit(line, width));
}

function candidatesText(candidates: string[], width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const candidate of candidates) {
    const next = current ? `${current}  ${candidate}` : candidate;
    if (next.length > width && current) {
      lines.push(current);
      current = candidate;
    } else current = next;
  }
  if (current) lines.push(current);
  return clip(lines, MAX_CANDIDATE_LINES, width);
}
