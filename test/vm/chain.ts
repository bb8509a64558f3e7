// test:vm's chain scenario: the module of test/vm/programs/chains.lt (three chain trackers)
// runs while `ltwork udp N` sends datagrams to udp-reader, and a tracefs instance records the
// events a chain needs (`ltsh record --for-file`'s set) in the same run. The replay reference
// over that recording must give the module's hits: stage kinds, tids and CPUs exactly,
// latencies within the live/replay differential's tolerance (test/kernel/chain-replay.test.ts).

import { loadCatalog } from "../../src/compiler/catalog/index.ts";
import { compileFile } from "../../src/compiler/compile.ts";
import { chainContextEvents } from "../../src/compiler/contexts.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord } from "../../src/records/types.ts";
import { parseFtraceLine } from "../../src/replay/formats.ts";
import { Interpreter } from "../../src/replay/interpreter.ts";
import { chainSummary } from "../../src/session/kmod-chain.ts";
import { type ModuleRun, workloadValues } from "./console.ts";
import type { Scenario } from "./scenarios.ts";

const DATAGRAMS = 50;
/**
 * The trace prints microseconds, and the module reads its clock a moment after ftrace (its
 * probes run after the kernel's trace events): the live/replay differential's 50 µs
 * (test/kernel/chain-replay.test.ts) holds for the median. Under TCG the guest's clock runs
 * on while QEMU translates code: an interrupt, or a translation-cache flush, between ftrace's
 * probe and the module's on one event moves the module's clock read by up to milliseconds.
 * So a few hits (OUTLIERS of them) may be off by more than MAX_NS, never in kind, tid or CPU.
 */
const TOLERANCE_NS = 50_000;
export const MAX_NS = 200_000;
const OUTLIERS = 0.05;
const INSTANCE = "/sys/kernel/tracing/instances/ltsh_chain";

/** Every event the chains need, as tracefs enable files (the catalog's, where known). */
function eventPaths(plans: TrackerPlan[]): string[] {
  const catalog = loadCatalog();
  const ids = plans.flatMap((t) => t.chain?.steps.map((s) => s.side.probe.id) ?? []);
  ids.push(...chainContextEvents().filter((id) => catalog.find(id).ok));
  return [...new Set(ids)].map((id) => `${INSTANCE}/events/${id.replace(":", "/")}/enable`);
}

/**
 * A few datagrams first, not recorded: under TCG the first run of the module's hit path is
 * translated then, milliseconds between its clock read and ftrace's at the same event.
 */
function recordScript(plans: TrackerPlan[]): string {
  return [
    "ltwork udp 3 >/dev/null",
    `mkdir ${INSTANCE}`,
    `echo mono > ${INSTANCE}/trace_clock`,
    `echo 16384 > ${INSTANCE}/buffer_size_kb`,
    ...eventPaths(plans).map((p) => `echo 1 > ${p} 2>/dev/null`),
    `echo 1 > ${INSTANCE}/tracing_on`,
    `ltwork udp ${DATAGRAMS}`,
    `echo 0 > ${INSTANCE}/tracing_on`,
  ].join("; ");
}

/** The guest commands of a "trace" phase: a tracefs instance's overruns, its lines, gone. */
export function dumpScript(instance: string): string {
  return [
    `echo "trace overruns=$(grep -h overrun ${instance}/per_cpu/cpu*/stats | tr -dc '0-9 ')"`,
    `sed 's/^/ltsh-trace /' ${instance}/trace`,
    `rmdir ${instance}`,
  ].join("; ");
}

/** What dumpScript's "trace" phase says of overruns: a problem, unless none. */
export function overrunProblems(run: ModuleRun): string[] {
  const overruns = run.phases
    .find((p) => p.name === "trace")
    ?.output.find((l) => l.startsWith("overruns="))
    ?.slice(9)
    .trim()
    .split(/\s+/);
  return overruns?.some((n) => n !== "0") ? [`the recording overran: ${overruns}`] : [];
}

/** The reference's hits and summaries over the recorded lines. */
export function replayGuestTrace(plans: TrackerPlan[], lines: string[]) {
  const hits: HitRecord[] = [];
  const interpreter = new Interpreter({ hit: (h) => hits.push(h), warning: () => {} });
  for (const plan of plans) interpreter.add(plan);
  lines.forEach((line, i) => {
    const event = parseFtraceLine(line, i + 1);
    if (event !== null && typeof event !== "string") interpreter.feed(event);
  });
  interpreter.finish("guest-trace.txt");
  return { hits, summaries: interpreter.summaries() };
}

/** The reference's hits over the recorded lines. */
export function replayLines(plans: TrackerPlan[], lines: string[]): HitRecord[] {
  return replayGuestTrace(plans, lines).hits;
}

/** A chain hit as the VM differentials compare it: the stages' kinds, tasks and CPUs. */
export const shapeOf = (hit: HitRecord) =>
  `${hit.tracker}: ${hit.chain?.map((s) => `${s.stage} ${s.tid} cpu${s.cpu}`).join(", ")}`;

/** The hits of the reader's datagrams that began while the recording ran. */
function ours(hits: HitRecord[], from: bigint): HitRecord[] {
  return hits.filter(
    (h) => h.chain?.some((s) => s.comm === "udp-reader") && h.chain[0].ts_ns >= from,
  );
}

/** The latencies' differences from replay's: the median within TOLERANCE_NS, few outliers. */
export function latencyProblems(diffs: number[], outliers: string[]): string[] {
  const median = [...diffs].sort((a, b) => a - b)[Math.floor(diffs.length / 2)] ?? 0;
  const problems: string[] = [];
  if (median >= TOLERANCE_NS)
    problems.push(`latencies differ from replay's by ${median} ns (median)`);
  if (outliers.length > OUTLIERS * diffs.length)
    problems.push(
      `${outliers.length} of ${diffs.length} latencies off by ${MAX_NS} ns or more:`,
      ...outliers,
    );
  return problems;
}

/** One tracker's hits, kmod against replay, in order; each latency's difference into `diffs`. */
function compareHits(
  got: HitRecord[],
  want: HitRecord[],
  diffs: number[],
  outliers: string[],
): string[] {
  const problems: string[] = [];
  const differ = got.findIndex((h, i) => shapeOf(h) !== (want[i] && shapeOf(want[i])));
  if (differ >= 0 || got.length !== want.length) {
    const at = differ < 0 ? got.length : differ;
    problems.push(
      `kmod and replay differ at hit ${at} of ${got.length}/${want.length}:`,
      `kmod:   ${got[at] ? shapeOf(got[at]) : "(none)"}`,
      `replay: ${want[at] ? shapeOf(want[at]) : "(none)"}`,
    );
  }
  got.forEach((h, i) => {
    const diff = want[i] ? Math.abs(h.latency_ns - want[i].latency_ns) : 0;
    diffs.push(diff);
    if (diff >= MAX_NS)
      outliers.push(`${shapeOf(h)}: ${h.latency_ns} ns, replay ${want[i].latency_ns} ns`);
    const sum = h.chain?.reduce((s, stage) => s + stage.dur_ns, 0);
    if (sum !== h.latency_ns) problems.push(`${shapeOf(h)}: stages sum to ${sum}`);
  });
  return problems;
}

function checkChains(run: ModuleRun, plans: TrackerPlan[]): string[] {
  const udp = run.phases.find((p) => p.name === "udp");
  const reader = udp ? workloadValues(udp).reader_pid : undefined;
  const lines = run.trace;
  if (!udp || reader === undefined) return ["no udp phase with the reader's pid"];
  const problems = overrunProblems(run);
  const first = lines
    .map((l, i) => parseFtraceLine(l, i + 1))
    .find((e) => e && typeof e !== "string");
  if (!first || typeof first === "string") return [...problems, `no trace (${lines.length} lines)`];
  const from = BigInt(first.sec) * 1_000_000_000n + BigInt(first.nsec);
  const live = ours(udp.hits, from);
  const reference = ours(replayLines(plans, lines), from);
  const diffs: number[] = [];
  const outliers: string[] = [];
  for (const plan of plans) {
    const got = live.filter((h) => h.tracker === plan.name);
    const want = reference.filter((h) => h.tracker === plan.name);
    // A datagram sent while NET_RX is still pending shares the chain of the one before.
    if (got.length < 0.9 * DATAGRAMS)
      problems.push(`${plan.name}: ${got.length} hits for ${DATAGRAMS} datagrams`);
    problems.push(...compareHits(got, want, diffs, outliers));
  }
  problems.push(...latencyProblems(diffs, outliers));
  if (!live.some((h) => h.chain?.some((s) => s.tid === reader && s.stage === "run")))
    problems.push(`no run stage of the reader (pid ${reader})`);
  const blk = chainSummary(run.statsText, plans[1]);
  if (blk?.segments?.length !== 3 || blk.segments.some((s) => s.pairs < 0.9 * DATAGRAMS))
    problems.push(`chains_blk segments: ${JSON.stringify(blk?.segments?.map((s) => s.pairs))}`);
  return problems.slice(0, 12);
}

const PROGRAM = new URL("./programs/chains.lt", import.meta.url).pathname;

function chainPlans(): TrackerPlan[] {
  const { plan } = compileFile(PROGRAM, { backend: "kmod" });
  if (!plan) throw new Error("test/vm/programs/chains.lt does not compile for kmod");
  return plan.trackers;
}

export const CHAIN_SCENARIO: Scenario = {
  example: "chains",
  program: true,
  insmodParams: "",
  printRecords: 8 * DATAGRAMS * 4,
  phases: [
    ["udp", recordScript(chainPlans())],
    ["trace", dumpScript(INSTANCE)],
  ],
  check: (run) => checkChains(run, chainPlans()),
};
