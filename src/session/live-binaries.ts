// The binaries a live session's user-space probes are attached to, watched while it runs.
// The kernel binds a uprobe to the file's inode and offset when it is attached, so a binary
// replaced on disk (a new inode: mv, an upgrade, a rebuild that unlinks first) leaves the
// probes on the old file: processes still running it stay traced, processes started from
// the new file are not. Rewritten in place (same inode: cp over it when nothing runs it), the
// probes stay at their old offsets in the new contents: the new code is not traced as
// written, and the kernel executes the instruction it saved from the old file there, so such
// processes may misbehave. Neither stops the tracker: each is warned about when seen and
// noted in the summary of the trackers probing that file.

import { type Stats, statSync } from "node:fs";
import type { TrackerPlan } from "../compiler/plan.ts";

interface Watched {
  dev: number;
  ino: number;
  mtimeMs: number;
  size: number;
  trackers: Set<string>;
  /** What happened to it, once seen (then it is no longer checked). */
  note: string | null;
}

/** Paths of the binaries and libraries a tracker's user-space probes are attached to. */
export function probedPaths(plan: TrackerPlan): string[] {
  const sides = [
    ...plan.begins,
    ...plan.ends,
    ...(plan.cancels ?? []),
    ...(plan.chain?.steps.map((s) => s.side) ?? []),
  ];
  const paths = sides.flatMap((s) => (s.probe.user ? [s.probe.user.path] : []));
  return [...new Set(paths)];
}

function statOf(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function noteOf(path: string, was: Watched, now: Stats | null): string | null {
  if (now === null) {
    return `${path} was removed while traced: processes still running it stay traced; one started from a new file at that path would not be`;
  }
  if (now.dev !== was.dev || now.ino !== was.ino) {
    return `${path} was replaced while traced (a new file): the probes stay on the old one; processes started from the new file were not traced`;
  }
  if (now.mtimeMs !== was.mtimeMs || now.size !== was.size) {
    return `${path} was rewritten in place while traced: the probes stayed at their old file offsets, so processes started from the new contents were not traced as written (and may have misbehaved: the kernel runs the old file's instruction at each probe)`;
  }
  return null;
}

export class ProbedBinaries {
  private readonly watched = new Map<string, Watched>();

  /** Watches a tracker's binaries from now (it has just been attached). */
  add(plan: TrackerPlan): void {
    for (const path of probedPaths(plan)) {
      const known = this.watched.get(path);
      if (known) {
        known.trackers.add(plan.name);
        continue;
      }
      const s = statOf(path);
      if (s === null) continue;
      const { dev, ino, mtimeMs, size } = s;
      this.watched.set(path, {
        dev,
        ino,
        mtimeMs,
        size,
        trackers: new Set([plan.name]),
        note: null,
      });
    }
  }

  get empty(): boolean {
    return this.watched.size === 0;
  }

  /** The changes seen since the last check, each once. */
  check(): string[] {
    const seen: string[] = [];
    for (const [path, w] of this.watched) {
      if (w.note !== null) continue;
      w.note = noteOf(path, w, statOf(path));
      if (w.note !== null) seen.push(w.note);
    }
    return seen;
  }

  /** What the summary of `tracker` says about the files it probes. */
  notes(tracker: string): string[] {
    return [...this.watched.values()]
      .filter((w) => w.note !== null && w.trackers.has(tracker))
      .map((w) => w.note!);
  }
}
