// Driving a demo's shell in tmux as a person would, shared by the demo tests and
// scripts/screenshots.ts: select a tracker (Page Up), read its waterfall, open the worst
// hit's snapshot with `s` and come back with `q`.

import type { TmuxPane } from "../repl/tmux.ts";

const TIMELINE = /←→ pan .* q back/;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Page Up until `tracker` is the selected row (▸); its waterfall shows under the table. */
export async function selectTracker(pane: TmuxPane, tracker: string): Promise<void> {
  const selected = new RegExp(`^▸ ${tracker} `, "m");
  for (let i = 0; i < 4 && !selected.test(pane.text()); i++) {
    pane.keys("PPage");
    await sleep(300);
  }
}

/** The selected chain tracker's waterfall: its longest link ("run mc-worker"), by bar length. */
export async function slowestLink(pane: TmuxPane, tracker: string): Promise<string> {
  await selectTracker(pane, tracker);
  const screen = await pane.waitFor(
    (s) => s.includes(`${tracker}: worst recent hit`),
    `${tracker}'s waterfall`,
  );
  const lines = screen.split("\n");
  const rows: RegExpExecArray[] = [];
  for (const line of lines.slice(lines.findIndex((l) => l.startsWith(`${tracker}: worst`)) + 1)) {
    const row = /^ {2}(\S+ \S+?)(?:-\d+)? +\S+ \|(█*) *\|$/.exec(line);
    if (row === null) break;
    rows.push(row);
  }
  rows.sort((a, b) => b[2].length - a[2].length);
  return rows[0]?.[1] ?? `no waterfall links on:\n${screen}`;
}

/**
 * `s` on the empty prompt: the worst hit's snapshot as a timeline; returns its screen. A
 * snapshot is reported once the hit's window has passed: until then :show says there is
 * none, the line comes back to the prompt, and a person clears it and tries again.
 */
export async function openWorstSnapshot(pane: TmuxPane): Promise<string> {
  let frame = "";
  for (let attempt = 0; attempt < 10 && !TIMELINE.test(frame); attempt++) {
    if (attempt > 0) {
      pane.keys("C-u");
      await sleep(1000);
    }
    pane.type("s");
    frame = await pane.waitFor(
      (s) => TIMELINE.test(s) || s.includes("has a snapshot yet"),
      "the worst hit's snapshot (s)",
    );
  }
  return frame;
}

/** `q` in the timeline: back to the prompt. */
export async function closeSnapshot(pane: TmuxPane): Promise<void> {
  pane.type("q");
  await pane.waitFor((s) => /^ltsh> *$/m.test(s) && !TIMELINE.test(s), "the prompt back");
}
