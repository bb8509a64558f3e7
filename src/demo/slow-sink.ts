// The memcached-log demo's log reader: memcached's stderr is a FIFO that ltsh drains, fast
// (everything, every 10 ms) or slow (a trickle): a slow disk or a congested log collector.
// When the reader is slow the pipe fills, and the server's next log write(2) blocks.

import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { join } from "node:path";

const TICK_MS = 10;

export class SlowSink {
  static readonly SLOW_BYTES_PER_SECOND = 64 * 1024;
  readonly writeFd: number;
  private readonly readFd: number;
  private readonly buffer = Buffer.alloc(64 * 1024);
  private slow = false;
  private readonly timer: NodeJS.Timeout;

  /** Makes the FIFO in `dir` (removed with the demo's directory). */
  constructor(dir: string) {
    const path = join(dir, "memcached-stderr");
    const made = spawnSync("mkfifo", ["-m", "600", path], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`mkfifo ${path}: ${made.stderr.trim()}`);
    // The read end first, non-blocking: opening the write end then succeeds at once.
    this.readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.writeFd = openSync(path, constants.O_WRONLY);
    this.timer = setInterval(() => this.drain(), TICK_MS);
    this.timer.unref();
  }

  /** After the server has its copy: the pipe then ends when the server does. */
  closeWriteEnd(): void {
    closeSync(this.writeFd);
  }

  setSlow(slow: boolean): void {
    this.slow = slow;
  }

  private drain(): void {
    let budget = this.slow
      ? (SlowSink.SLOW_BYTES_PER_SECOND * TICK_MS) / 1000
      : Number.POSITIVE_INFINITY;
    while (budget > 0) {
      const length = Math.min(this.buffer.length, budget);
      let read: number;
      try {
        read = readSync(this.readFd, this.buffer, 0, length, null);
      } catch {
        return; // EAGAIN: empty for now
      }
      if (read === 0) return;
      budget -= read;
    }
  }
}
