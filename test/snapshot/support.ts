// Shared by the snapshot suites: whether tracefs instances can be made here, a tracker plan
// over two tracepoints without the compiler, and reading events back from an instance.

import assert from "node:assert/strict";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSource } from "../../src/compiler/compile.ts";
import type { ProbePlan, ProbeSide, TrackerPlan } from "../../src/compiler/plan.ts";
import { eventTimestampNs } from "../../src/records/snapshot-note.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { openSession } from "../../src/session/backends.ts";

export const TRACEFS = "/sys/kernel/tracing";

/** Why the live snapshot suites cannot run here, or null. */
export function tracefsSkipReason(): string | null {
  if (process.getuid?.() !== 0) return "not root (tracefs instances need root)";
  if (!existsSync(join(TRACEFS, "instances"))) return `tracefs is not mounted at ${TRACEFS}`;
  try {
    accessSync(join(TRACEFS, "instances"), constants.W_OK);
  } catch {
    return `${TRACEFS}/instances is not writable`;
  }
  return null;
}

export function reportSkip(suite: string, reason: string): void {
  console.log(`  skip ${suite}: ${reason}`);
}

/** ltsh instances present in tracefs right now. */
export function ltshInstances(pid?: number): string[] {
  return readdirSync(join(TRACEFS, "instances")).filter((name) =>
    pid === undefined ? name.startsWith("ltsh-") : name.startsWith(`ltsh-${pid}-`),
  );
}

const RANGE = { file: "t.lt", line: 1, col: 1, endLine: 1, endCol: 1, offset: 0, endOffset: 0 };

function side(id: string): ProbeSide {
  const [category, name] = id.split(":") as [string, string];
  const probe: ProbePlan = { id, category, name, eventId: 0, fields: [] };
  return { probe, key: [], filter: null, range: RANGE };
}

/** Enough of a plan for the recorder: its name, its two probes and `then snapshot`. */
export function snapshotPlan(name: string, begin: string, end: string): TrackerPlan {
  return {
    name,
    begins: [side(begin)],
    ends: [side(end)],
    keyTypes: [],
    thresholdNs: 0,
    timeoutNs: null,
    keep: "first",
    capacity: 16,
    actions: [{ kind: "snapshot", range: RANGE }],
    range: RANGE,
    source: "",
  };
}

/** Lines of a trace (file text) for one event name and pid, with their timestamps. */
export function eventLines(
  text: string,
  event: string,
  pid: number,
): { line: string; ns: bigint }[] {
  const found: { line: string; ns: bigint }[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(` ${event}: `)) continue;
    if (!new RegExp(`-${pid}\\s`).test(line)) continue;
    const ns = eventTimestampNs(line);
    if (ns !== null) found.push({ line, ns });
  }
  return found;
}

export function instanceTrace(instanceDir: string): string {
  return readFileSync(join(instanceDir, "trace"), "utf8");
}

/** Replays a snapshot file with the replay backend; returns its hits and warnings. */
export async function replayHits(
  source: string,
  tracePath: string,
): Promise<{ hits: HitRecord[]; warnings: string[] }> {
  const compiled = compileSource(source, "replay.lt");
  assert.ok(compiled.plan, `compiles: ${JSON.stringify(compiled.diagnostics)}`);
  const hits: HitRecord[] = [];
  const warnings: string[] = [];
  const session = await openSession("replay", {
    listener: { hit: (h) => hits.push(h), warning: (w) => warnings.push(w) },
    options: compiled.plan.options,
    replay: { path: tracePath },
  });
  for (const plan of compiled.plan.trackers) await session.add(plan);
  await session.done?.();
  await session.close();
  return { hits, warnings };
}
