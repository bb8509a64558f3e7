// irq_handler_exit's return value as a number in `ltsh record`'s text. The event's print
// format is `ret ? "handled" : "unhandled"`: IRQ_WAKE_THREAD (2) prints as IRQ_HANDLED (1),
// so a replay could not see a threaded IRQ's tail (grammar/README.md "Chains"). The
// instance's `fields` option (Linux 6.4+) prints the recorded fields as numbers; it is read
// at read time and applies to every event, so the recorder reads its frozen buffer twice:
// once with `fields` on, keeping each irq_handler_exit line's head and ret, then as plain
// text, writing `ret=N` in place of the word on those lines only. Every other byte passes
// through as recorded (only irq_handler_exit lines are decoded, as latin1: byte for char).
// Kernels without `fields` get the numbers from record-irq-copy.ts, through the same writer.

import { createReadStream } from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import type { TracefsInstance } from "../kernel/tracefs.ts";

/** One irq_handler_exit line of the `fields` rendering. */
export interface IrqReturn {
  /** The line up to the payload: task, CPU, flags, timestamp, event name (same in both). */
  head: string;
  /** The handler's irqreturn_t: 0 none, 1 handled, 2 wake thread; null: not known, left as printed. */
  ret: number | null;
}

const EXIT = Buffer.from(" irq_handler_exit: ", "latin1");
const NEWLINE = 0x0a;

/**
 * Calls `line(head, payload, start, end)` for each irq_handler_exit line in `bytes` (whole
 * lines): its text as latin1, its byte range. Only those lines are decoded.
 */
export function forEachExit(
  bytes: Buffer,
  line: (head: string, payload: string, start: number, end: number) => void,
): void {
  for (let at = bytes.indexOf(EXIT); at !== -1; at = bytes.indexOf(EXIT, at + EXIT.length)) {
    const start = bytes.lastIndexOf(NEWLINE, at) + 1;
    const newline = bytes.indexOf(NEWLINE, at);
    const end = newline === -1 ? bytes.length : newline;
    const payloadStart = at + EXIT.length;
    line(
      bytes.toString("latin1", start, payloadStart),
      bytes.toString("latin1", payloadStart, end),
      start,
      end,
    );
  }
}

/** Splits chunks into runs of whole lines (the last, unterminated, at the end). */
export class LineRuns {
  private partial: Buffer = Buffer.alloc(0);
  /** The whole lines completed by `chunk`. */
  push(chunk: Buffer): Buffer {
    const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const cut = bytes.lastIndexOf(NEWLINE) + 1;
    this.partial = Buffer.from(bytes.subarray(cut));
    return bytes.subarray(0, cut);
  }
  /** What is left after the last chunk. */
  end(): Buffer {
    const rest = this.partial;
    this.partial = Buffer.alloc(0);
    return rest;
  }
}

/** A stream of text that hands whole lines to `rewrite`, and writes what it returns. */
export abstract class LineRewriter extends Transform {
  private readonly runs = new LineRuns();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, this.rewrite(this.runs.push(chunk)));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.rewrite(this.runs.end()));
  }

  /** The bytes to write for `bytes`, whole lines (the last one may lack its newline). */
  protected abstract rewrite(bytes: Buffer): Buffer;
}

/** The irq_handler_exit lines of a `fields` rendering (`irq=0x2a (42) ret=0x2 (2)`), in order. */
export async function irqReturnsOfFieldsText(chunks: AsyncIterable<Buffer>): Promise<IrqReturn[]> {
  const returns: IrqReturn[] = [];
  const collect = (bytes: Buffer) =>
    forEachExit(bytes, (head, payload) => {
      const ret = /\bret=\S+ \((-?\d+)\)/.exec(payload);
      if (ret) returns.push({ head, ret: Number(ret[1]) });
    });
  const runs = new LineRuns();
  for await (const chunk of chunks) collect(runs.push(chunk));
  collect(runs.end());
  return returns;
}

/**
 * Reads the frozen instance's irq_handler_exit returns through its `fields` option (left
 * off afterwards); null when this kernel's tracefs has no such option.
 */
export async function readIrqReturns(instance: TracefsInstance): Promise<IrqReturn[] | null> {
  if (!instance.hasOption("fields")) return null;
  instance.setOption("fields", true);
  try {
    return await irqReturnsOfFieldsText(createReadStream(instance.tracePath));
  } finally {
    instance.setOption("fields", false);
  }
}

/**
 * Plain trace text in, the same text out with `ret=handled`/`ret=unhandled` (or a bare
 * `ret=`: record-irq-copy.ts says which kernel prints that) of each
 * irq_handler_exit line replaced by its number from `returns`, matched line by line by
 * head (a null number leaves its line as printed). Should the two readings disagree (they
 * read one frozen buffer), the rest is left as printed and `mismatch` says where.
 */
export class IrqReturnWriter extends LineRewriter {
  private next = 0;
  /** The first plain line whose head was not the next `fields` one; null: none. */
  mismatch: string | null = null;

  constructor(private readonly returns: readonly IrqReturn[]) {
    super();
  }

  protected rewrite(bytes: Buffer): Buffer {
    const parts: Buffer[] = [];
    let copiedTo = 0;
    forEachExit(bytes, (head, payload, start, end) => {
      const printed = /^(irq=-?\d+ ret=)(?:handled|unhandled|)$/.exec(payload);
      if (printed === null || this.mismatch !== null) return;
      if (this.returns[this.next]?.head !== head) {
        this.mismatch = head;
        return;
      }
      const { ret } = this.returns[this.next++];
      if (ret === null) return;
      const line = `${head}${printed[1]}${ret}`;
      parts.push(bytes.subarray(copiedTo, start), Buffer.from(line, "latin1"));
      copiedTo = end;
    });
    if (parts.length === 0) return bytes;
    parts.push(bytes.subarray(copiedTo));
    return Buffer.concat(parts);
  }
}
