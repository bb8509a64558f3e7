// tracefs `uprobe_events` entries of our own, for the recorder (`ltsh record --for-file`):
// probe events in the group `ltsh_<pid>`, so that a later ltsh finds the entries a killed
// one left and removes them, as it does for `ltsh-<pid>-*` instances. Enable them in a
// TracefsInstance by id ("ltsh_<pid>:name"); remove the instance before remove() here
// (an enabled event cannot be deleted).
//
// uprobe_events is written in append mode only: opening it for writing without O_APPEND
// deletes every uprobe event of the system.

import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { onCleanup, processAlive } from "./cleanup.ts";
import { findTracefs, removeStaleInstances, TracefsError } from "./tracefs.ts";

export interface UprobeEventSpec {
  /** Event name inside the group: letters, digits and _ ("work__begin_0"). */
  name: string;
  path: string;
  fileOffset: number;
  retprobe?: boolean;
  /** USDT semaphore file offset; 0 or absent: none. */
  refCtrOffset?: number;
  /** "NAME=FETCHARG" items: "arg0=%ax:s32". */
  fetchArgs?: readonly string[];
}

const GROUP_PREFIX = "ltsh_";

/** The uprobe_events line that defines `spec` in `group`. */
export function uprobeEventLine(group: string, spec: UprobeEventSpec): string {
  const refCtr = spec.refCtrOffset ? `(0x${spec.refCtrOffset.toString(16)})` : "";
  const probe = `${spec.path}:0x${spec.fileOffset.toString(16)}${refCtr}`;
  const head = `${spec.retprobe ? "r" : "p"}:${group}/${spec.name} ${probe}`;
  return [head, ...(spec.fetchArgs ?? [])].join(" ");
}

export class UprobeEvents {
  private unregister: (() => void) | null;
  private readonly created: string[] = [];

  private constructor(
    readonly root: string,
    readonly group: string,
  ) {
    this.unregister = onCleanup(() => this.remove());
  }

  /** Defines every event (removing stale ltsh ones first); all or nothing. */
  static create(specs: readonly UprobeEventSpec[], options: { tracefs?: string } = {}) {
    const root = options.tracefs ?? findTracefs();
    removeStaleUprobeEvents(root);
    const events = new UprobeEvents(root, `${GROUP_PREFIX}${process.pid}`);
    try {
      for (const spec of specs) events.add(spec);
    } catch (error) {
      events.remove();
      throw error;
    }
    return events;
  }

  /** "ltsh_<pid>:name" of each event, for TracefsInstance.enableEvents. */
  get ids(): string[] {
    return this.created.map((name) => `${this.group}:${name}`);
  }

  private add(spec: UprobeEventSpec): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.name))
      throw new TracefsError(`uprobe event name '${spec.name}' is not letters, digits and _`);
    if (/\s/.test(spec.path))
      throw new TracefsError(`uprobe_events cannot name a path with spaces: ${spec.path}`);
    appendEvents(this.root, uprobeEventLine(this.group, spec));
    this.created.push(spec.name);
  }

  /** Deletes every event; safe to call twice and from exit handlers. */
  remove(): void {
    if (this.unregister === null) return;
    this.unregister();
    this.unregister = null;
    for (const name of this.created.splice(0)) {
      try {
        appendEvents(this.root, `-:${this.group}/${name}`);
      } catch (error) {
        process.stderr.write(`ltsh: warning: ${(error as Error).message}\n`);
      }
    }
  }
}

function appendEvents(root: string, line: string): void {
  const file = join(root, "uprobe_events");
  try {
    appendFileSync(file, `${line}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    const hint =
      code === "EACCES" || code === "EPERM"
        ? " (run as root)"
        : code === "EBUSY"
          ? " (the event is still enabled somewhere)"
          : code === "EINVAL"
            ? " (see /sys/kernel/tracing/error_log)"
            : "";
    throw new TracefsError(`tracefs: cannot write '${line}' to ${file}: ${code}${hint}`);
  }
}

/** Deletes `ltsh_<pid>` events whose process is gone; returns their "group:name" ids. */
export function removeStaleUprobeEvents(root: string): string[] {
  removeStaleInstances(root); // an event still enabled in a dead instance cannot go
  let text: string;
  try {
    text = readFileSync(join(root, "uprobe_events"), "utf8");
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const match of text.matchAll(/^[pr]:(ltsh_(\d+))\/(\w+) /gm)) {
    const [, group, pid, name] = match;
    if (Number(pid) === process.pid || processAlive(Number(pid))) continue;
    try {
      appendEvents(root, `-:${group}/${name}`);
      removed.push(`${group}:${name}`);
    } catch {
      // Still in use (another tracer enabled it): leave it for a later start.
    }
  }
  return removed;
}
