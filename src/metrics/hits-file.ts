// `ltsh serve --hits FILE.ndjson`: hits appended as NDJSON lines, rotated by size like
// logrotate does it (FILE → FILE.1 → FILE.2 …, the oldest beyond `keep` removed), so a
// daemon that runs for months holds a bounded amount of disk.

import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";

export interface HitsFileOptions {
  /** Rotate before a write would take the file past this many bytes. */
  maxBytes: number;
  /** Rotated files kept (FILE.1 … FILE.keep); 0 keeps none. */
  keep: number;
  /** A write or rotation failed (a full disk): the queued lines are lost, and said so here. */
  onError(error: Error, lostLines: number): void;
}

export class HitsFile {
  private fd: number;
  private size: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;

  /** Opens (creates) FILE for appending; throws the open error for the caller to report. */
  constructor(
    readonly path: string,
    private readonly options: HitsFileOptions,
  ) {
    this.fd = openSync(path, "a", 0o640);
    this.size = statSync(path).size;
  }

  /**
   * Queues one line; written on the next turn of the event loop (one write(2) for a burst of
   * hits, as `ltsh run` does for stdout) or at once when 64 KiB are waiting.
   */
  append(line: string): void {
    const text = `${line}\n`;
    this.pending.push(text);
    this.pendingBytes += Buffer.byteLength(text);
    if (this.pendingBytes > 1 << 16) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued, rotating first when it would not fit (a line is never split). */
  flush(): void {
    this.scheduled = false;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    try {
      for (const text of lines) {
        const bytes = Buffer.from(text);
        if (this.size > 0 && this.size + bytes.length > this.options.maxBytes) this.rotate();
        writeAll(this.fd, bytes);
        this.size += bytes.length;
        written++;
      }
    } catch (error) {
      this.options.onError(error as Error, lines.length - written);
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  /**
   * Opens FILE anew (on SIGHUP): when an outside tool (logrotate, an operator) has moved it
   * away, hits go to a new FILE instead of following the moved one.
   */
  reopen(): void {
    this.flush();
    const fd = openSync(this.path, "a", 0o640);
    closeSync(this.fd);
    this.fd = fd;
    this.size = statSync(this.path).size;
  }

  private rotate(): void {
    closeSync(this.fd);
    rmSync(`${this.path}.${this.options.keep}`, { force: true });
    for (let n = this.options.keep - 1; n >= 1; n--)
      renameIfPresent(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    if (this.options.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.fd = openSync(this.path, "a", 0o640);
    this.size = 0;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** "64MiB", "10M", "512k", "1000000" → bytes (binary multiples, as the language's sizes). */
export function parseSize(text: string): number | null {
  const m = /^(\d+)\s*(k|kib|m|mib|g|gib)?b?$/i.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] ?? "").toLowerCase()[0];
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  const bytes = Number(m[1]) * scale;
  return bytes > 0 ? bytes : null;
}
