// The timeline's view: the rows of ./timeline-format.ts as Ink text, one <Text> per row with
// a nested <Text> per styled segment. Nothing is computed here.

import { Box, Text } from "ink";
import { type Row, timelineRows } from "./timeline-format.ts";
import type { TimelineState } from "./timeline-state.ts";

export function TimelineView(props: {
  state: TimelineState;
  columns: number;
  rows: number;
  /** In the shell: which of the kept hits' snapshots this is (`[` `]` step). */
  place?: { paths: string[]; index: number };
}) {
  const { place } = props;
  const among = place && { index: place.index, count: place.paths.length };
  const rows = timelineRows(props.state, props.columns, props.rows, among);
  return (
    <Box flexDirection="column">
      {rows.map((row, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional and redrawn whole
        <RowText key={i} row={row} />
      ))}
    </Box>
  );
}

function RowText({ row }: { row: Row }) {
  if (row.length === 0) return <Text> </Text>;
  return (
    <Text wrap="truncate">
      {row.map((segment, i) => (
        <Text
          // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
          key={i}
          color={segment.color}
          bold={segment.bold}
          dimColor={segment.dim}
          inverse={segment.inverse}
        >
          {segment.text}
        </Text>
      ))}
    </Text>
  );
}
