// Drives `ltsh` in a real terminal for end-to-end tests: a detached tmux session of a fixed
// size, keys sent literally, and polling of the pane's text with a timeout (no fixed sleeps).

import { execFileSync, spawnSync } from "node:child_process";

export function tmuxSkipReason(): string | null {
  const probe = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  return probe.status === 0 ? null : "tmux is not installed";
}

export class TmuxPane {
  readonly name = `ltsh-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  /** Starts `command` (a shell line) in an 80x24 pane; it echoes LTSH-EXIT=<status> at the end. */
  constructor(command: string, env: Record<string, string>, size = { columns: 80, rows: 24 }) {
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}';`)
      .join(" ");
    const script = `${exports} ${command}; echo LTSH-EXIT=$?; sleep 600`;
    execFileSync("tmux", [
      "new-session",
      "-d",
      "-s",
      this.name,
      "-x",
      String(size.columns),
      "-y",
      String(size.rows),
      script,
    ]);
    // A big scrollback so the whole session can be read back at the end.
    execFileSync("tmux", ["set-option", "-t", this.name, "history-limit", "50000"]);
  }

  /** What the screen shows now (visible rows only), or with the whole scrollback. */
  text(scrollback = false): string {
    const args = ["capture-pane", "-p", "-t", this.name, ...(scrollback ? ["-S", "-"] : [])];
    return execFileSync("tmux", args, { encoding: "utf8" });
  }

  /** Types text literally (no key names), then optionally presses Enter. */
  type(text: string, enter = false): void {
    execFileSync("tmux", ["send-keys", "-t", this.name, "-l", text]);
    if (enter) this.keys("Enter");
  }

  keys(...names: string[]): void {
    execFileSync("tmux", ["send-keys", "-t", this.name, ...names]);
  }

  /** Polls the pane until `ready` holds; fails with the screen when it never does. */
  async waitFor(
    ready: (screen: string) => boolean,
    what: string,
    timeoutMs = 20_000,
    scrollback = false,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < deadline) {
      screen = this.text(scrollback);
      if (ready(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}; the screen shows:\n${screen}`);
  }

  kill(): void {
    spawnSync("tmux", ["kill-session", "-t", this.name]);
  }
}
