// Chain trackers' records from a generated module (kmod-runtime/lt_chain.h): a chain hit is
// a struct lt_hit followed by LT_CHAIN_PARTS records carrying the token, in the eBPF token
// layout, so the stages decode as the live eBPF backend's do (live-chain.ts). Also the chain
// fields of a summary: broken chains and one histogram per segment ("NAME/K" lines).

import type { ProcessName } from "../compiler/hit-captures.ts";
import type { TrackerPlan } from "../compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../records/types.ts";
import {
  decodeHit,
  FOLLOWING_PAYLOAD_AT,
  HIT_RECORD_SIZE,
  hasCaptures,
  LT_HIT_CAPTURES,
  LT_HIT_THRESHOLD,
  LT_HIT_TIMEOUT,
  parseStats,
  parseStatsLine,
} from "./kmod-decode.ts";
import { chainHitRecord, decodeStages, segmentNames } from "./live-chain.ts";

/** LT_HIT_CHAIN_PART of lt_chain.h. */
const PART = 3;
/** LT_CHAIN_PARTS records of LT_CHAIN_PART_BYTES carry a token. */
const PARTS = 3;
const PART_BYTES = 256;

/** Records one hit of `plan` takes: a chain's parts, a plain hit's captures record. */
export function recordsPerHit(plan: TrackerPlan): number {
  if (plan.chain) return 1 + PARTS;
  return hasCaptures(plan) ? 2 : 1;
}

/**
 * Turns a module's records, in the order read, into hits: plain trackers' records one by
 * one, or with the captures record that follows them (`then print` fields, the key task's
 * name), a chain's once its parts are in (a read may end between them).
 */
export class KmodRecords {
  private chain: { plan: TrackerPlan; header: Buffer; parts: Buffer[] } | null = null;
  private captured: Buffer | null = null;
  /** The struct lt_hit of the hit push() last returned (its stack is there). */
  header: Buffer | null = null;

  /**
   * `trackers` in module order (lt_hit.tracker is the index); `processName` names a keyed
   * task the records do not (see decodeHit).
   */
  constructor(
    private readonly trackers: TrackerPlan[],
    private readonly processName?: ProcessName,
  ) {
    this.withCaptures = trackers.map((t) => !t.chain && hasCaptures(t));
  }

  /** Per tracker: its hits are followed by a captures record (derived once, not per record). */
  private readonly withCaptures: boolean[];

  /** The hit this record completes, or null (a part, not ours, or still incomplete). */
  push(record: Buffer): HitRecord | null {
    if (record.length < HIT_RECORD_SIZE) return null;
    const plan = this.trackers[record.readUInt32LE(0)];
    const kind = record.readUInt32LE(4);
    if (kind === PART) return this.part(record);
    if (kind === LT_HIT_CAPTURES) return this.captures(record);
    this.chain = null;
    this.captured = null;
    if (this.withCaptures[record.readUInt32LE(0)]) {
      this.captured = Buffer.from(record);
      return null;
    }
    this.header = record;
    if (!plan?.chain) return decodeHit(record, this.trackers, this.processName);
    if (kind !== LT_HIT_THRESHOLD && kind !== LT_HIT_TIMEOUT) return null;
    this.chain = { plan, header: Buffer.from(record), parts: [] };
    return null;
  }

  /** The captures of the hit before: pushed with it, so they come next or not at all. */
  private captures(record: Buffer): HitRecord | null {
    const header = this.captured;
    this.captured = null;
    if (header === null || header.readUInt32LE(0) !== record.readUInt32LE(0)) return null;
    this.header = header;
    return decodeHit(header, this.trackers, this.processName, record);
  }

  private part(record: Buffer): HitRecord | null {
    const chain = this.chain;
    if (chain === null || Number(record.readBigUInt64LE(8)) !== chain.parts.length + 1) {
      this.chain = null;
      return null;
    }
    chain.parts.push(
      Buffer.from(record.subarray(FOLLOWING_PAYLOAD_AT, FOLLOWING_PAYLOAD_AT + PART_BYTES)),
    );
    if (chain.parts.length < PARTS) return null;
    this.chain = null;
    this.header = chain.header;
    const token = Buffer.concat(chain.parts);
    const stages = decodeStages(token, 0, chain);
    const latency = Number(chain.header.readBigUInt64LE(8));
    const timeout = chain.header.readUInt32LE(4) === LT_HIT_TIMEOUT;
    return chainHitRecord(chain.plan.name, timeout, latency, stages);
  }
}

/** A chain tracker's summary from the stats file: its line, its segments' lines, broken. */
export function chainSummary(text: string, plan: TrackerPlan): SummaryRecord | undefined {
  const summaries = parseStats(text);
  const summary = summaries.find((s) => s.tracker === plan.name);
  if (!summary) return undefined;
  const line = text.split("\n").find((l) => parseStatsLine(l).tracker === plan.name) ?? "";
  const broken = Number(parseStatsLine(line).broken ?? 0);
  const segments = segmentNames({ plan }).map((name, i) => {
    const s = summaries.find((x) => x.tracker === `${plan.name}/${i}`);
    return {
      ...name,
      pairs: s?.pairs ?? 0,
      min_ns: s?.min_ns ?? null,
      p50_ns: s?.p50_ns ?? null,
      p99_ns: s?.p99_ns ?? null,
      max_ns: s?.max_ns ?? null,
      hist: s?.hist ?? [],
      sum_ns: s?.sum_ns ?? 0,
    };
  });
  return { ...summary, broken, segments };
}
