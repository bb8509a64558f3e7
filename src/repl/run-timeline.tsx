// Runs `ltsh show` on a terminal: the timeline on the alternate screen (the terminal comes
// back as it was after q), until the user quits or a signal arrives.

import { render } from "ink";
import { TimelineApp } from "./TimelineApp.tsx";
import type { Timeline } from "./timeline-model.ts";

const ALTERNATE_SCREEN = "\u001B[?1049h\u001B[H";
const MAIN_SCREEN = "\u001B[?1049l";

export async function showTimeline(timeline: Timeline): Promise<void> {
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => {
    quit = resolve;
  });
  process.stdout.write(ALTERNATE_SCREEN);
  // Interactive even with CI=true in the environment, as the shell (run-shell.tsx): Ink
  // would otherwise draw nothing until the last frame at exit.
  const instance = render(<TimelineApp timeline={timeline} onQuit={() => quit()} />, {
    exitOnCtrlC: false,
    interactive: Boolean(process.stdout.isTTY),
  });
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onSignal = () => quit();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    await quitting;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    instance.unmount();
    await instance.waitUntilExit().catch(() => {});
    process.stdout.write(MAIN_SCREEN);
  }
}
