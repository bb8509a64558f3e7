// The shell's small views: the printed feed (<Static>, stays in scrollback), the trackers
// table, the histogram, the status line and the prompt. Text comes from ./format.ts,
// already cut to the width, so nothing wraps into a mess on a small terminal.

import { Box, Static, Text } from "ink";
import { fit, histogramLines, statusLine, trackersTable, waterfallLines } from "./format.ts";
import type { Line } from "./line-editor.ts";
import type { FeedBlock, ShellState, Tone } from "./state.ts";

const TONE_COLOR: Partial<Record<Tone, string>> = {
  timeout: "yellow",
  warning: "yellow",
  error: "red",
  echo: "cyan",
};

/**
 * Finished lines, printed once above the live panels; a new generation remounts <Static>.
 * A block is one <Text>: a flush of 50 hits costs one element, not 50.
 */
export function Feed({ printed, width }: { printed: ShellState["printed"]; width: number }) {
  return (
    <Static key={printed.generation} items={printed.blocks}>
      {(block: FeedBlock) => (
        <Text key={block.id} color={TONE_COLOR[block.tone]}>
          {block.lines.map((line) => fit(line, width)).join("\n")}
        </Text>
      )}
    </Static>
  );
}

export function Lines({ lines, color, dim }: { lines: string[]; color?: string; dim?: boolean }) {
  return (
    <Box flexDirection="column">
      {lines.map((text, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional and redrawn whole
        <Text key={i} color={color} dimColor={dim} wrap="truncate">
          {text === "" ? " " : text}
        </Text>
      ))}
    </Box>
  );
}

export function TrackersPanel(props: { state: ShellState; width: number; maxRows: number }) {
  const { state, width, maxRows } = props;
  const [header, ...rows] = trackersTable(state.trackers, state.selected, width, maxRows);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {header}
      </Text>
      <Lines lines={rows} />
    </Box>
  );
}

export function HistogramPanel(props: { state: ShellState; width: number; maxRows: number }) {
  const { state, width, maxRows } = props;
  const row = state.trackers.find((t) => t.name === state.selected);
  if (!row || maxRows < 2) return null;
  // A chain tracker's worst recent hit first (which link is slow), the histogram below.
  const [fall, ...links] = row.worst
    ? waterfallLines(row.worst, width, Math.ceil(maxRows / 2))
    : [];
  const left = maxRows - (fall ? links.length + 1 : 0);
  const [title, ...bars] = left >= 2 ? histogramLines(row.summary, width, left - 1) : [];
  return (
    <Box flexDirection="column">
      {fall ? (
        <Text bold wrap="truncate">
          {fall}
        </Text>
      ) : null}
      <Lines lines={links} color="yellow" />
      {title ? (
        <Text bold wrap="truncate">
          {title}
        </Text>
      ) : null}
      <Lines lines={bars ?? []} color="green" />
    </Box>
  );
}

/** Rows the picked hit takes: its line and the keys that act on it. */
export const PICKED_ROWS = 2;

/** The hit picked with shift+up/down, and what Enter does with it. */
export function PickedHit({
  picked,
  width,
}: {
  picked: NonNullable<ShellState["picked"]>;
  width: number;
}) {
  const { hits, index } = picked;
  const keys = `hit ${index + 1}/${hits.length}: Enter opens its snapshot, shift+up/down older/newer, Esc leaves`;
  return (
    <Box flexDirection="column">
      <Text inverse wrap="truncate">
        {fit(`▸ ${hits[index].line}`, width)}
      </Text>
      <Text dimColor wrap="truncate">
        {fit(keys, width)}
      </Text>
    </Box>
  );
}

export function StatusBar({ state, width }: { state: ShellState; width: number }) {
  return (
    <Text inverse wrap="truncate">
      {statusLine(state.status, width).padEnd(width)}
    </Text>
  );
}

export const PROMPT = "ltsh> ";

/** The visible slice of a long line, kept around the cursor, with … where it is cut. */
export function promptWindow(
  line: Line,
  width: number,
): { before: string; at: string; after: string } {
  const room = Math.max(4, width - PROMPT.length - 1);
  let start = 0;
  if (line.cursor > room - 1) start = line.cursor - (room - 1);
  const visible = line.text.slice(start, start + room);
  const cursor = line.cursor - start;
  let before = visible.slice(0, cursor);
  let after = visible.slice(cursor + 1);
  if (start > 0) before = `…${before.slice(1)}`;
  if (start + room < line.text.length) after = `${after.slice(0, -1)}…`;
  return { before, at: visible[cursor] ?? " ", after };
}

export function Prompt({ state, width }: { state: ShellState; width: number }) {
  const { before, at, after } = promptWindow(state.line, width);
  return (
    <Text wrap="truncate">
      <Text color={state.busy ? "gray" : "cyan"}>{PROMPT}</Text>
      {before}
      <Text inverse>{at}</Text>
      {after}
    </Text>
  );
}
