// Streams a recorded trace line by line (bounded memory: one chunk at a time) from a
// file or stdin, gunzipping transparently, detects or checks its format, and hands each
// event to a sink. Bad input becomes a TraceError naming the line and what was expected.

import { closeSync, fstatSync, openSync, read } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createGunzip } from "node:zlib";
import type { TraceEvent, TraceFormat } from "./event.ts";
import {
  detectFormat,
  FORMAT_EXAMPLES,
  ftraceParser,
  type LineParser,
  parsers,
} from "./formats.ts";
import { EventNameMatcher, FtraceByteEvent, scanFtraceBytes } from "./ftrace-bytes.ts";

/** A problem with the trace itself: printed as one line, exit 1. */
export class TraceError extends Error {}

export interface ReadOptions {
  /** A file path, or "-" for stdin. */
  path: string;
  format?: TraceFormat;
  /** Malformed lines are fatal instead of counted. */
  strict?: boolean;
  /** 1 = trace time, 10 = ten times faster, "max" (default) = as fast as possible. */
  speed?: number | "max";
  signal?: AbortSignal;
  /** Event names the consumer wants (others are still delivered): parsed faster. */
  interest?: readonly string[];
  /** The sink copies what it keeps: the reader may hand it one reused event object. */
  reuseEvents?: boolean;
  /** Called once, before the first event, with the format and the trace's header comments. */
  onStart?: (format: TraceFormat, header: string[]) => void;
}

export interface ReadResult {
  format: TraceFormat;
  lines: number;
  events: number;
  malformed: number;
  /** The first malformed line and why, for the summary's warning. */
  firstMalformed: { lineNo: number; reason: string } | null;
}

/** How many event-looking lines detection looks at. */
const DETECT_LINES = 50;
const CHUNK_BYTES = 1 << 20;

/** The trace's bytes in chunks: stdin as a stream, a file by direct reads. */
async function openInput(path: string): Promise<AsyncIterable<Buffer>> {
  if (path === "-") return process.stdin;
  let fd: number;
  try {
    fd = openSync(path, "r");
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code;
    throw new TraceError(`${path}: cannot read the trace: ${why}`);
  }
  return fileChunks(fd);
}

/** One chunk read from the file's current position; null at the end. */
function readChunk(fd: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    read(fd, chunk, 0, CHUNK_BYTES, null, (error, size) => {
      if (error) reject(error);
      else resolve(size === 0 ? null : size < CHUNK_BYTES ? chunk.subarray(0, size) : chunk);
    });
  });
}

/**
 * A file in chunks, the next one always being read (on the thread pool) while the current
 * one is parsed, so the parser does not wait for the disk or the page cache.
 */
async function* fileChunks(fd: number): AsyncGenerator<Buffer> {
  try {
    let next = readChunk(fd);
    for (;;) {
      const chunk = await next;
      if (chunk === null) return;
      next = readChunk(fd);
      yield chunk;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Whole lines of one chunk: decoded `lines`, or in byte mode `segments` of raw bytes made
 * of whole lines. `unterminated` marks the file's last line missing its newline.
 */
interface LineChunk {
  lines: string[];
  segments?: Buffer[];
  unterminated: boolean;
}

/** Chunks of whole lines, decompressing when the input starts with the gzip magic. */
async function* lineChunks(
  input: AsyncIterable<Buffer>,
  name: string,
  mode: { bytes: boolean },
): AsyncGenerator<LineChunk> {
  let source: AsyncIterable<Buffer> = input;
  let leftover: Buffer | null = null;
  let first = true;
  let gunzip: ReturnType<typeof createGunzip> | null = null;
  const iterator = input[Symbol.asyncIterator]();
  const firstChunk = await iterator.next();
  if (firstChunk.done) throw new TraceError(`${name}: empty trace`);
  const head: Buffer = firstChunk.value;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    gunzip = createGunzip();
    const feed = async () => {
      gunzip!.write(head);
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
        if (!gunzip!.write(r.value)) await new Promise((resolve) => gunzip!.once("drain", resolve));
      }
      gunzip!.end();
    };
    feed().catch((error) => gunzip!.destroy(error));
    source = gunzip;
  } else {
    source = (async function* () {
      yield head;
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
    })();
  }
  try {
    for await (const chunk of source) {
      if (first) {
        first = false;
        if (chunk.subarray(0, 4096).includes(0)) {
          throw new TraceError(
            `${name}: binary data, not a text trace (trace.dat: run 'trace-cmd report' on it; perf.data: 'perf script')`,
          );
        }
      }
      const lastNewline = chunk.lastIndexOf(10);
      if (lastNewline < 0) {
        leftover = leftover ? Buffer.concat([leftover, chunk]) : chunk;
        continue;
      }
      if (mode.bytes) {
        const segments = [chunk.subarray(0, lastNewline + 1)];
        if (leftover) {
          // Only the line split across chunks is copied, not the whole chunk.
          const firstNewline = chunk.indexOf(10);
          segments[0] = Buffer.concat([leftover, chunk.subarray(0, firstNewline + 1)]);
          if (firstNewline < lastNewline)
            segments.push(chunk.subarray(firstNewline + 1, lastNewline + 1));
        }
        leftover = lastNewline + 1 < chunk.length ? chunk.subarray(lastNewline + 1) : null;
        yield { lines: [], segments, unterminated: false };
        continue;
      }
      let lines: string[];
      if (leftover) {
        // Only the line split across chunks is joined, not the whole chunk (no 1 MiB copy).
        const firstNewline = chunk.indexOf(10);
        const joined = Buffer.concat([leftover, chunk.subarray(0, firstNewline)]).toString("utf8");
        lines =
          firstNewline === lastNewline
            ? []
            : chunk.toString("utf8", firstNewline + 1, lastNewline).split("\n");
        lines.unshift(joined);
      } else {
        lines = chunk.toString("utf8", 0, lastNewline).split("\n");
      }
      leftover = lastNewline + 1 < chunk.length ? chunk.subarray(lastNewline + 1) : null;
      yield { lines, unterminated: false };
    }
  } catch (error) {
    if (error instanceof TraceError) throw error;
    const message = (error as Error).message;
    throw new TraceError(
      `${name}: ${gunzip ? "corrupt or truncated gzip data" : "read error"}: ${message}`,
    );
  }
  if (leftover) yield { lines: [leftover.toString("utf8")], unterminated: true };
}

/** "sys_" at the event column: the syscall tracer's shapes, which need the general parser. */
function isSyscallTracerLine(buf: Buffer, at: number): boolean {
  return buf[at] === 115 && buf[at + 1] === 121 && buf[at + 2] === 115 && buf[at + 3] === 95;
}

function foreignTraceError(name: string, lineNo: number): TraceError {
  const expected = Object.entries(FORMAT_EXAMPLES)
    .map(([format, example]) => `  ${format}: ${example}`)
    .join("\n");
  return new TraceError(
    `${name}:${lineNo}: not a trace ltsh can read; expected lines like\n${expected}`,
  );
}

/** Reads the whole trace, calling `sink` for each event in order. */
export async function readTrace(
  options: ReadOptions,
  sink: (event: TraceEvent) => void,
): Promise<ReadResult> {
  const name = options.path === "-" ? "<stdin>" : options.path;
  const input = await openInput(options.path);
  const result: ReadResult = {
    format: options.format ?? "ftrace",
    lines: 0,
    events: 0,
    malformed: 0,
    firstMalformed: null,
  };
  const parserFor = (format: TraceFormat): LineParser =>
    format === "ftrace" && options.interest
      ? ftraceParser(options.interest, { reuseEvent: options.reuseEvents })
      : parsers[format];
  let parse: LineParser | null = options.format ? parserFor(options.format) : null;
  const header: string[] = [];
  let pending: string[] = [];
  let pendingStart = 1;
  const pacing = typeof options.speed === "number" && options.speed > 0 ? options.speed : null;
  let wallStart = 0;
  let traceStart: number | null = null;
  let lineNo = 0;
  let unterminated = false;

  const handle = (line: string, n: number, isLast: boolean): TraceEvent | null => {
    const parsed = parse!(line.endsWith("\r") ? line.slice(0, -1) : line, n);
    if (parsed === null) {
      if (result.events === 0 && line.startsWith("#") && header.length < 100) header.push(line);
      return null;
    }
    if (typeof parsed === "string") {
      const reason = isLast ? `truncated last line (${parsed})` : parsed;
      if (options.strict) throw new TraceError(`${name}:${n}: malformed line: ${reason}`);
      result.malformed++;
      result.firstMalformed ??= { lineNo: n, reason };
      return null;
    }
    result.events++;
    return parsed;
  };

  const start = (format: TraceFormat) => {
    result.format = format;
    parse = parserFor(format);
    chooseByteMode(format);
    options.onStart?.(format, header);
  };

  const deliver = async (event: TraceEvent) => {
    if (pacing !== null) {
      const t = event.sec * 1000 + event.nsec / 1e6;
      if (traceStart === null) {
        traceStart = t;
        wallStart = performance.now();
      }
      const ahead = wallStart + (t - traceStart) / pacing - performance.now();
      if (ahead > 5) {
        // close() mid-sleep: stop at once rather than after the trace's gap.
        await sleep(ahead, undefined, { signal: options.signal }).catch(() => {});
        if (options.signal?.aborted) return;
      }
    }
    sink(event);
  };

  // tracefs text for a consumer that copies what it keeps: read from the bytes directly.
  const mode = { bytes: false };
  const byteEvent = new FtraceByteEvent();
  const matcher = new EventNameMatcher(options.interest ?? []);
  const chooseByteMode = (format: TraceFormat) => {
    mode.bytes =
      format === "ftrace" && options.interest !== undefined && options.reuseEvents === true;
  };
  if (options.format) chooseByteMode(options.format);
  const chunks = lineChunks(input, name, mode);
  try {
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
      if (options.signal?.aborted) break;
      const lines = r.value.lines;
      unterminated = r.value.unterminated;
      if (r.value.segments) {
        if (result.events === 0 && result.lines === 0) options.onStart?.(result.format, header);
        for (const segment of r.value.segments) await runSegment(segment);
        continue;
      }
      if (parse === null) {
        // Detection: gather lines until enough look like events, then replay them.
        if (pending.length === 0) pendingStart = lineNo + 1;
        pending.push(...lines);
        lineNo += lines.length;
        const candidates = pending.filter((l) => l.trim() !== "" && !l.startsWith("#"));
        if (candidates.length < DETECT_LINES) continue;
        const format = detectFormat(candidates.slice(0, DETECT_LINES));
        if (format === null)
          throw foreignTraceError(name, pendingStart + pending.indexOf(candidates[0]));
        start(format);
        await runLines(pending, pendingStart);
        pending = [];
        continue;
      }
      if (result.events === 0 && result.lines === 0) options.onStart?.(result.format, header);
      const first = lineNo + 1;
      lineNo += lines.length;
      await runLines(lines, first);
    }
    if (parse === null) {
      const candidates = pending.filter((l) => l.trim() !== "" && !l.startsWith("#"));
      if (candidates.length === 0) throw new TraceError(`${name}: no events in the trace`);
      const format = detectFormat(candidates);
      if (format === null)
        throw foreignTraceError(name, pendingStart + pending.indexOf(candidates[0]));
      start(format);
      await runLines(pending, pendingStart);
    }
  } finally {
    // Closes the file when the replay stops early (abort, error).
    await chunks.return(undefined);
  }
  if (result.events === 0 && result.malformed > 0)
    throw foreignTraceError(name, result.firstMalformed!.lineNo);
  return result;

  /** Whole tracefs lines as bytes: the plain ones scanned in place, the rest as text. */
  async function runSegment(buf: Buffer): Promise<void> {
    let pos = 0;
    while (pos < buf.length) {
      let newline = buf.indexOf(10, pos);
      if (newline < 0) newline = buf.length;
      const end = newline > pos && buf[newline - 1] === 13 ? newline - 1 : newline;
      lineNo++;
      result.lines++;
      byteEvent.reset(buf, pos, end, lineNo);
      const rest = scanFtraceBytes(byteEvent);
      let event: TraceEvent | null = byteEvent;
      // "sys_write(...)" and "sys_write -> 0x2" (the syscall tracer) go the general way.
      if (rest < 0 || (!matcher.match(byteEvent, rest) && isSyscallTracerLine(buf, rest))) {
        event = handle(buf.toString("utf8", pos, end), lineNo, false);
      } else {
        result.events++;
      }
      pos = newline + 1;
      if (event === null) continue;
      if (pacing !== null) await deliver(event);
      else sink(event);
      if (options.signal?.aborted) return;
    }
  }

  async function runLines(lines: string[], firstLineNo: number): Promise<void> {
    const count = lines.length;
    result.lines += count;
    for (let i = 0; i < count; i++) {
      const event = handle(lines[i], firstLineNo + i, unterminated && i === count - 1);
      if (event === null) continue;
      if (pacing !== null) await deliver(event);
      else sink(event);
      if (options.signal?.aborted) return;
    }
  }
}
