// Lines a caller keeps above the shell's tables (a demo's narration: what runs, what to
// watch, the fault's state), and keys that act on an empty prompt (a demo's `f`). The shell
// redraws when the lines change; it knows nothing of what they say.

export class Narration {
  private current: string[];
  private readonly listeners = new Set<() => void>();

  constructor(lines: string[] = []) {
    this.current = lines;
  }

  /** The same array until the next set(): React compares it by identity. */
  lines = (): string[] => this.current;

  set(lines: string[]): void {
    this.current = lines;
    for (const listener of this.listeners) listener();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/** What a prompt key may do in the shell besides its own work. */
export interface PromptShell {
  /** Runs a line as if typed and entered (it shows in the feed): `:show jack worst`. */
  run(line: string): void;
}

/**
 * Keys that act when pressed on an empty prompt (no statement starts with them, so typing is
 * unaffected once a line is begun).
 */
export type PromptKeys = Record<string, (shell: PromptShell) => void>;
