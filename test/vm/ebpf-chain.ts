// The live eBPF side of test:vm's chain differential: in the session guest (the host's
// userspace over 9p), `ltsh record --for-file` records test/vm/programs/chains.lt's events
// while `ltsh run` runs the same chains live on eBPF beside `ltwork udp`; the replay of that
// recording must give the live hits (stage kinds, tids and CPUs; latencies within the
// tolerance of test/vm/chain.ts, which holds the kmod side against a recording of its own).

import { gunzipSync } from "node:zlib";
import { compileFile } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { latencyProblems, MAX_NS, replayLines, shapeOf } from "./chain.ts";
import type { Report } from "./module-check.ts";
import { RUN_LIMIT_S, SLOT_BYTES } from "./session.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const PROGRAM = "test/vm/programs/chains.lt";
export const EBPF_CHAIN_RUN = "echain";
/** How far a replay hit's origin may be from a live one's (under TCG, clocks drift apart). */
const NEAR_NS = 2.5e6;
/** The recording starts first and ends last; the live run's hits inside it are compared. */
const RECORD_S = 150;

/** Guest lines: the recording, the live run, the workload; output and trace to two slots. */
export function ebpfChainScript(slot: number, repo: string, fromSources: boolean): string {
  const env = fromSources ? "export LTSH_NO_BUNDLE=1 && " : "";
  const ltsh = `cd ${repo} && ${env}exec node bin/ltsh.js`;
  const name = EBPF_CHAIN_RUN;
  const record = `${ltsh} record --for-file ${PROGRAM} --for ${RECORD_S}s -o /tmp/${name}.txt.gz`;
  return [
    "{",
    `  mark "session ${name} start"`,
    "  mountpoint -q /newroot/sys/kernel/tracing || mount -t tracefs nodev /newroot/sys/kernel/tracing",
    `  inhost sh -c '${record}' 2>/out/${name}.rec & R=$!`,
    // until the recording runs (ltsh's start-up under TCG takes a while), or it failed
    "  n=0; while ! ls -d /sys/kernel/tracing/instances/ltsh-*-record >/dev/null 2>&1 && kill -0 $R 2>/dev/null && [ $n -lt 600 ]; do sleep 0.5; n=$((n + 1)); done",
    "  ( while :; do ltwork udp 20 >/dev/null; sleep 0.1; done ) & W=$!",
    `  timeout -s KILL ${RUN_LIMIT_S} inhost sh -c '${ltsh} run ${PROGRAM} --for 10s --json' >/out/${name}.out 2>/out/${name}.err`,
    `  rc=$?; kill $W; kill -INT $R; wait $R; mark "session ${name} exit rc=$rc"`,
    `  echo "@@ltsh session ${name} bytes=$(wc -c < /out/${name}.out)"`,
    `  echo "@@ltsh echain-trace bytes=$(wc -c < /newroot/tmp/${name}.txt.gz)"`,
    `  dd if=/out/${name}.out of=/dev/vda bs=1M seek=${(slot * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    `  dd if=/newroot/tmp/${name}.txt.gz of=/dev/vda bs=1M seek=${((slot + 1) * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    `  sed "s/^/@@ltsh session ${name} stderr /" /out/${name}.err /out/${name}.rec`,
    "}",
  ].join("\n");
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

/** Replay's hit for a live one: same tracker, the nearest origin within `near` ns. */
function counterpart(hit: HitRecord, reference: HitRecord[], near: number): HitRecord | undefined {
  const origin = Number(hit.chain![0].ts_ns);
  let best: HitRecord | undefined;
  let distance = near;
  for (const r of reference) {
    const d = Math.abs(Number(r.chain![0].ts_ns) - origin);
    if (r.tracker === hit.tracker && d < distance) [best, distance] = [r, d];
  }
  return best;
}

/**
 * A live hit whose nearest replay hit has another shape: both, with their origins and
 * latencies, and the nearest replay hit of the live one's shape, if any, so that a failure
 * tells a backend disagreement from two requests whose origins the clocks put close together.
 */
function shapeDiffers(hit: HitRecord, other: HitRecord, reference: HitRecord[]): string[] {
  const at = (h: HitRecord) => `origin ${h.chain![0].ts_ns}, ${h.latency_ns} ns`;
  const same = reference.filter((r) => r.tracker === hit.tracker && shapeOf(r) === shapeOf(hit));
  const alike = counterpart(hit, same, NEAR_NS);
  return [
    `live ${shapeOf(hit)} (${at(hit)})`,
    `replay ${shapeOf(other)} (${at(other)})`,
    alike
      ? `replay's nearest hit of the live shape: ${at(alike)}`
      : `replay has no hit of the live shape within ${NEAR_NS / 1e6} ms`,
  ];
}

export function checkEbpfChains(console: string, disk: Buffer, slot: number, report: Report) {
  const size = Number(/^@@ltsh echain-trace bytes=(\d+)$/m.exec(console)?.[1] ?? 0);
  const problems: string[] = [];
  const out = disk
    .subarray(slot * SLOT_BYTES)
    .toString("utf8")
    .split("\0")[0];
  const plans: TrackerPlan[] = compileFile(PROGRAM).plan?.trackers ?? [];
  let lines: string[] = [];
  try {
    const start = (slot + 1) * SLOT_BYTES;
    lines = gunzipSync(disk.subarray(start, start + size))
      .toString("utf8")
      .split("\n");
  } catch (error) {
    problems.push(`no recording: ${(error as Error).message}`);
  }
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
  const differing: string[][] = [];
  for (const hit of live) {
    // under TCG a live clock read can trail ftrace's by milliseconds (test/vm/chain.ts)
    const other = counterpart(hit, reference, NEAR_NS);
    if (!other) unmatched.push(`no replay hit for ${shapeOf(hit)} at ${hit.chain![0].ts_ns}`);
    else if (shapeOf(other) !== shapeOf(hit)) differing.push(shapeDiffers(hit, other, reference));
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
  // Open discrepancies of issue #10, in about one hit in 2000, of two kinds so far: replay
  // goes on through a waking by the reader (`waking 14, run 14, block 14`) that live lacks,
  // or live keeps a NET_RX raise pending past the softirq that replay moves it into. Up to
  // one hit in 1000 of another shape is printed on every run; more fails.
  if (differing.length > 0.001 * live.length) problems.push(...differing.flat());
  const others = differing.length > 0 ? `; ${differing.length} of another shape (open, #10)` : "";
  if (live.length < 3 * 20) problems.push(`${live.length} live chain hits inside the recording`);
  report(
    problems.length === 0,
    `guest: live eBPF chains ${PROGRAM}: ${matched} of ${live.length} hits as replay of the recording (stages, tids, CPUs; median latency difference ${median(diffs)} ns; ${unmatched.length} without a replay hit within ${NEAR_NS / 1e6} ms${others}), missed=${missed}`,
    problems.length > 0 ? problems.slice(0, 10) : differing.flat(),
  );
}
