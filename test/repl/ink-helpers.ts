// Helpers for frame tests of the shell: named key constants, ANSI-free frames, and
// waiting for the next frame (or a frame that says something) instead of sleeping.

import type { render } from "ink-testing-library";

export const ENTER = "\r";
export const TAB = "\t";
export const UP = "\u001B[A";
export const DOWN = "\u001B[B";
export const LEFT = "\u001B[D";
export const RIGHT = "\u001B[C";
export const BACKSPACE = "\u007F";
export const PAGE_DOWN = "\u001B[6~";
export const SHIFT_UP = "\u001B[1;2A";
export const SHIFT_DOWN = "\u001B[1;2B";
export const ESCAPE = "\u001B";
export const CTRL_A = "\u0001";
export const CTRL_C = "\u0003";
export const CTRL_D = "\u0004";
export const CTRL_U = "\u0015";

export type Rendered = ReturnType<typeof render>;

const ANSI = /\u001B\[[0-9;?]*[A-Za-z]|\u001B\][^\u0007]*\u0007/g;

/** The frame as a user reads it: no colours, no trailing blanks. */
export function plain(frame: string | undefined): string {
  return (frame ?? "")
    .replace(ANSI, "")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n+$/, "");
}

/** Resolves with the next frame written after this call. */
export function nextFrame(app: Rendered, timeoutMs = 2000): Promise<string> {
  const seen = app.frames.length;
  return waitFor(app, () => app.frames.length > seen, timeoutMs);
}

/** Resolves with the first frame (current or later) for which `ready` holds. */
export function waitForFrame(
  app: Rendered,
  ready: (frame: string) => boolean,
  timeoutMs = 2000,
): Promise<string> {
  return waitFor(app, () => ready(plain(app.lastFrame())), timeoutMs);
}

function waitFor(app: Rendered, done: () => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdout = app.stdout;
    const original = stdout.write;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      stdout.write = original;
      if (ok) resolve(plain(app.lastFrame()));
      else
        reject(
          new Error(`no such frame within ${timeoutMs}ms; last frame:\n${plain(app.lastFrame())}`),
        );
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    if (done()) return finish(true);
    stdout.write = (frame: string) => {
      original(frame);
      if (done()) finish(true);
    };
  });
}

/** Types text (one write, as a fast typist or a paste would) and waits for its frame. */
export async function press(app: Rendered, keys: string): Promise<string> {
  const frame = nextFrame(app);
  app.stdin.write(keys);
  return frame;
}
