// The live eBPF side of test:vm's chain differential: in the session guest (the host's
// userspace over 9p), `ltsh record --for-file` records test/vm/programs/chains.lt's events
// while `ltsh run` runs the same chains live on eBPF beside `ltwork udp`; the replay of that
// recording must give the live hits (stage kinds, tids and CPUs; latencies within the
// tolerance of test/vm/chain.ts, which holds the kmod side against a recording of its own).

import { compileFile } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { alignLists } from "../align-lists.ts";
import { latencyProblems, MAX_NS, replayLines, shapeOf } from "./chain.ts";
import type { Report } from "./module-check.ts";
import { liveDifferentialScript, liveRunSlots, RUN_LIMIT_S } from "./session.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const PROGRAM = "test/vm/programs/chains.lt";
export const EBPF_CHAIN_RUN = "echain";
/** What leaving a live hit unpaired costs in alignHits: under the datagrams' 2 ms spacing. */
const GAP_NS = 1e6;
/** The recording starts first and ends last; the live run's hits inside it are compared. */
const RECORD_S = 150;

/** Guest lines: the recording, the live run, the workload; output and trace to two slots. */
export function ebpfChainScript(slot: number, repo: string, fromSources: boolean): string {
  return liveDifferentialScript({
    name: EBPF_CHAIN_RUN,
    program: PROGRAM,
    slot,
    repo,
    fromSources,
    workload: "ltwork udp 20; sleep 0.1",
    workOutput: false,
    recordS: RECORD_S,
    runS: 10,
    limitS: RUN_LIMIT_S,
  });
}

/** The live hits (NDJSON) of the chains, and the summary's `missed`. */
function liveHits(stdout: string): { hits: HitRecord[]; missed: number } {
  const hits: HitRecord[] = [];
  let missed = 0;
  for (const line of stdout.split("\n").filter((l) => l.startsWith("{"))) {
    const record = JSON.parse(line);
    if (record.type === "hit" && Array.isArray(record.chain)) hits.push(record);
    if (record.type === "summary") missed += record.missed ?? 0;
  }
  return { hits, missed };
}

/** A live hit and replay's hit of the same datagram (undefined: replay has none). */
interface Aligned {
  live: HitRecord;
  replay: HitRecord | undefined;
}

const originNs = (h: HitRecord) => Number(h.chain![0].ts_ns);

/** How far apart two hits are: their closest stages' distance, stage k against stage k. */
function distance(a: HitRecord, b: HitRecord): number {
  let closest = Number.POSITIVE_INFINITY;
  for (let k = 0; k < Math.min(a.chain!.length, b.chain!.length); k++) {
    closest = Math.min(closest, Math.abs(Number(a.chain![k].ts_ns) - Number(b.chain![k].ts_ns)));
  }
  return closest;
}

/**
 * Pairs each live hit with replay's hit of the same datagram: per tracker and origin task,
 * both in origin order, aligned for the least total distance between paired hits, a live hit
 * left unpaired costing GAP_NS (replay has every datagram of the recording, live those of its
 * run, less what it dropped: replay's hits left unpaired cost nothing).
 * Two hits are as far apart as their closest stages (by position): under TCG the guest can
 * stop between ftrace's clock read and the BPF program's, so one stage of a live hit now and
 * then trails replay's by milliseconds (19.6 ms seen) while the others agree to the µs, and
 * the reader's datagrams are 2 ms apart: the nearest origin can be another datagram's.
 */
export function alignHits(live: HitRecord[], reference: HitRecord[]): Aligned[] {
  const groups = new Map<string, { live: HitRecord[]; replay: HitRecord[] }>();
  const groupOf = (h: HitRecord) => {
    const key = `${h.tracker} ${h.chain![0].tid}`;
    const group = groups.get(key) ?? { live: [], replay: [] };
    groups.set(key, group);
    return group;
  };
  for (const h of live) groupOf(h).live.push(h);
  for (const h of reference) groupOf(h).replay.push(h);
  const aligned: Aligned[] = [];
  for (const group of groups.values()) {
    if (group.live.length > 0) aligned.push(...alignGroup(group.live, group.replay));
  }
  return aligned;
}

function alignGroup(live: HitRecord[], replay: HitRecord[]): Aligned[] {
  const byOrigin = (a: HitRecord, b: HitRecord) => originNs(a) - originNs(b);
  live.sort(byOrigin);
  replay.sort(byOrigin);
  const { matched } = alignLists(live, replay, distance, { left: GAP_NS, right: 0 });
  const partner = new Map(matched);
  return live.map((h) => ({ live: h, replay: partner.get(h) }));
}

/** Both hits of a pair whose shapes differ, stage by stage with their times. */
function shapeDiffers({ live, replay }: Aligned): string[] {
  const stages = (h: HitRecord) =>
    `${h.tracker}: ${h.chain!.map((s) => `${s.stage} ${s.tid} cpu${s.cpu} @${s.ts_ns}`).join(", ")} (${h.latency_ns} ns)`;
  return [`live   ${stages(live)}`, `replay ${stages(replay!)}`];
}

export function checkEbpfChains(console: string, disk: Buffer, slot: number, report: Report) {
  const problems: string[] = [];
  const plans: TrackerPlan[] = compileFile(PROGRAM).plan?.trackers ?? [];
  const { out, trace: lines, problem } = liveRunSlots(console, disk, EBPF_CHAIN_RUN, slot);
  if (problem !== null) problems.push(problem);
  const events = lines
    .map((l, i) => parseFtraceLine(l, i + 1))
    .filter((e) => e && typeof e !== "string");
  const { hits, missed } = liveHits(out);
  const first = events[0];
  const last = events[events.length - 1];
  const inside = (h: HitRecord) =>
    first &&
    last &&
    typeof first !== "string" &&
    typeof last !== "string" &&
    Number(h.chain![0].ts_ns) > first.sec * 1e9 + first.nsec &&
    Number(h.chain![h.chain!.length - 1].ts_ns) < last.sec * 1e9 + last.nsec;
  const live = hits.filter((h) => inside(h) && h.chain?.some((s) => s.comm === "udp-reader"));
  const reference = replayLines(plans, lines);
  let matched = 0;
  const unmatched: string[] = [];
  const diffs: number[] = [];
  const outliers: string[] = [];
  const differing: string[] = [];
  for (const pair of alignHits(live, reference)) {
    const { live: hit, replay: other } = pair;
    if (!other) unmatched.push(`no replay hit for ${shapeOf(hit)} at ${hit.chain![0].ts_ns}`);
    else if (shapeOf(other) !== shapeOf(hit)) differing.push(...shapeDiffers(pair));
    else {
      matched++;
      const diff = Math.abs(other.latency_ns - hit.latency_ns);
      diffs.push(diff);
      if (diff >= MAX_NS)
        outliers.push(`${shapeOf(hit)}: ${hit.latency_ns} ns, replay ${other.latency_ns} ns`);
    }
  }
  problems.push(...latencyProblems(diffs, outliers));
  if (unmatched.length > 0.01 * live.length) problems.push(...unmatched);
  problems.push(...differing);
  if (live.length < 3 * 20) problems.push(`${live.length} live chain hits inside the recording`);
  report(
    problems.length === 0,
    `guest: live eBPF chains ${PROGRAM}: ${matched} of ${live.length} hits as replay of the recording (stages, tids, CPUs; median latency difference ${median(diffs)} ns; ${unmatched.length} without a replay hit), missed=${missed}`,
    problems.slice(0, 10),
  );
}
