// The log of `ltsh serve`: one line per event worth logging, on stderr, for journald. Each
// line starts with the syslog priority in angle brackets (sd-daemon(3)), which journald
// strips and records; no colours and no timestamps, since journald adds its own.

/** syslog priorities (sd-daemon.h's SD_ERR, SD_WARNING, SD_NOTICE, SD_INFO). */
export const Priority = { error: 3, warning: 4, notice: 5, info: 6 } as const;
export type PriorityName = keyof typeof Priority;

export type LogWriter = (text: string) => void;

export class Journal {
  constructor(private readonly write: LogWriter = (text) => process.stderr.write(text)) {}

  /** Every line of `message` (a diagnostic spans several) gets the priority prefix. */
  log(priority: PriorityName, message: string): void {
    const lines = message.replace(/\n$/, "").split("\n");
    this.write(lines.map((line) => `<${Priority[priority]}>${line}\n`).join(""));
  }

  error(message: string): void {
    this.log("error", message);
  }

  warning(message: string): void {
    this.log("warning", message);
  }

  notice(message: string): void {
    this.log("notice", message);
  }

  info(message: string): void {
    this.log("info", message);
  }
}

/**
 * Hit lines for the log when no --hits file takes them: at most `perSecond` lines a second,
 * the rest counted and said in one line, so a storm of hits cannot flood the journal.
 */
export class HitLogLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly journal: Journal,
    private readonly perSecond = 20,
    private readonly now: () => number = () => performance.now(),
  ) {}

  log(line: string): void {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.flush();
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged < this.perSecond) {
      this.logged++;
      this.journal.info(line);
    } else this.suppressed++;
  }

  /** Says how many lines were left out since the last flush (nothing when none were). */
  flush(): void {
    if (this.suppressed === 0) return;
    this.journal.notice(`${this.suppressed} more hits not logged (--hits FILE keeps every hit)`);
    this.suppressed = 0;
  }
}
