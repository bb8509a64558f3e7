// The timeline's input hook: keys to reducer actions, `q` (or Escape) to leave. The mapping is
// pure (timelineKey) so the shell routes keys to it while the timeline is open.

import { type Key, useInput } from "ink";
import type { TimelineAction } from "./timeline-state.ts";

const LETTERS: Record<string, TimelineAction["type"]> = {
  "+": "zoomIn",
  "=": "zoomIn",
  i: "zoomIn",
  "-": "zoomOut",
  o: "zoomOut",
  h: "panLeft",
  l: "panRight",
  n: "nextEvent",
  ".": "nextEvent",
  " ": "nextEvent",
  p: "prevEvent",
  ",": "prevEvent",
  g: "firstEvent",
  G: "lastEvent",
  f: "fitHit",
  a: "fitAll",
};

/** Pure: the action for a key, "quit" for q/Escape/Ctrl-C, or null for any other key. */
export function timelineKey(input: string, key: Key): TimelineAction | "quit" | null {
  if (input === "q" || key.escape || (key.ctrl && input === "c")) return "quit";
  if (key.leftArrow) return { type: "panLeft" };
  if (key.rightArrow) return { type: "panRight" };
  if (key.upArrow) return { type: "zoomIn" };
  if (key.downArrow) return { type: "zoomOut" };
  if (key.tab) return { type: key.shift ? "prevEvent" : "nextEvent" };
  if (key.home) return { type: "firstEvent" };
  if (key.end) return { type: "lastEvent" };
  if (key.ctrl || key.meta) return null;
  const type = LETTERS[input];
  return type ? { type } : null;
}

/**
 * Every key of one read: keys typed fast (or a terminal's paste) arrive as one string of
 * plain characters, each its own command; "quit" ends the list.
 */
export function timelineKeys(input: string, key: Key): (TimelineAction | "quit")[] {
  const plain = !key.ctrl && !key.meta && !key.escape && input.length > 1;
  const actions = (plain ? [...input] : [input])
    .map((ch) => timelineKey(ch, plain ? ({} as Key) : key))
    .filter((action) => action !== null);
  const quit = actions.indexOf("quit");
  return quit < 0 ? actions : actions.slice(0, quit + 1);
}

export function useTimelineInput(
  dispatch: (action: TimelineAction) => void,
  onQuit: () => void,
  isActive = true,
): void {
  useInput(
    (input, key) => {
      for (const action of timelineKeys(input, key)) {
        if (action === "quit") onQuit();
        else dispatch(action);
      }
    },
    { isActive },
  );
}
