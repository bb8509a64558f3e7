// test:vm's chains through user-space probes: the four trackers of the live differential
// (test/kernel/chain-uprobe.test.ts) as one module on the static USDT workload: a USDT origin
// reaching a USDT target through the waking of the worker thread (`~>`), the origin handing
// the chain off by cookie (`->`) then a tracepoint, a `->` from a USDT probe to a tracepoint
// by tid, and a uprobe → uretprobe chain in one task. A tracefs instance records the same run
// (uprobe_events entries defined as `ltsh record --for-file` defines them, and the chains'
// context events); the replay reference over that recording must give the module's hits
// (stage kinds, tids and CPUs) and pairs.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chainContextEvents } from "../../src/compiler/contexts.ts";
import type { FilePlan, TrackerPlan } from "../../src/compiler/plan.ts";
import { recorderEventsOf } from "../../src/compiler/uprobe/recorder-plan.ts";
import { uprobeEventLine } from "../../src/kernel/uprobe-events.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { HIT_RECORD_SIZE } from "../../src/session/kmod-decode.ts";
import type { BuiltModule } from "./build.ts";
import { replayGuestTrace, shapeOf } from "./chain.ts";
import { parseModuleRun } from "./console.ts";
import type { Report } from "./module-check.ts";

/** Iterations of the workload: one cookie hand-off each. */
const N = 10;
/** The module's name: the program file is chain-uprobes.lt. */
export const CHAIN_UPROBE_MODULE = "lt_chain_uprobes";
const INSTANCE = "/sys/kernel/tracing/instances/ltsh_chain_uprobes";
const UPROBE_EVENTS = "/sys/kernel/tracing/uprobe_events";
/** The uprobe_events group of the recording. */
const GROUP = "ltsh_vm";

function program(P: string): string {
  return `# test:vm chains through user-space probes (test/vm/chain-uprobes.ts) on ${P}
track ctx: usdt:${P}:work__begin ~> usdt:${P}:work__end > 1ns
track cookie: usdt:${P}:work__begin(arg0) -> usdt:${P}:work__end(arg0) ~> sys_enter_write > 1ns
track mixed: usdt:${P}:work__begin ~> usdt:${P}:work__end($tid) -> sys_enter_write($tid) > 1ns
track call: uprobe:${P}:lt_add where arg1 == 100 ~> uretprobe:${P}:lt_add where retval > 100 > 1ns
`;
}

/** Writes the program for `binary` into `work` (module lt_chain_uprobes); its path. */
export function writeChainUprobeProgram(work: string, binary: string): string {
  const file = join(work, "chain-uprobes.lt");
  writeFileSync(file, program(binary));
  return file;
}

/** What the recording enables: the steps' tracepoints, the context events, the group. */
function enablePaths(plan: FilePlan): string[] {
  const ids = plan.trackers.flatMap((t) =>
    (t.chain?.steps ?? [])
      .filter((s) => s.side.probe.user === undefined)
      .map((s) => s.side.probe.id),
  );
  ids.push(...chainContextEvents(), GROUP);
  return [...new Set(ids)].map((id) => `${INSTANCE}/events/${id.replace(":", "/")}/enable`);
}

/** The guest's part: insmod, the recorded workload, reads, stop, stats, rmmod, the trace. */
export function chainUprobeScript(plan: FilePlan, binary: string): string {
  const m = CHAIN_UPROBE_MODULE;
  const events = recorderEventsOf(plan);
  if (!events.ok) throw new Error(`no uprobe_events entries: ${events.message}`);
  const read = `ltread /dev/ltsh_${m} ${HIT_RECORD_SIZE} 300 ${16 * N * 4}`;
  const define = events.value.specs.map(
    (spec) => `echo '${uprobeEventLine(GROUP, spec)}' >> ${UPROBE_EVENTS}`,
  );
  const undefine = events.value.specs.map(
    (spec) => `echo '-:${GROUP}/${spec.name}' >> ${UPROBE_EVENTS}`,
  );
  return [
    `echo "@@ltsh module ${m}"`,
    `[ -e ${binary} ] || { mkdir -p ${dirname(binary)} && cp /bin/ltusdt ${binary}; }`,
    `insmod /lib/ltsh/${m}.ko; echo "@@ltsh insmod ${m} rc=$?"`,
    `echo "@@ltsh phase ${m} work"`,
    ...define,
    `mkdir ${INSTANCE}`,
    `echo mono > ${INSTANCE}/trace_clock`,
    `echo 16384 > ${INSTANCE}/buffer_size_kb`,
    ...enablePaths(plan).map((p) => `echo 1 > ${p} 2>/dev/null`),
    `echo 1 > ${INSTANCE}/tracing_on`,
    // each hand-off waits for the worker to sleep, so that it wakes it (one vCPU)
    `LTSH_WAIT_WORKER=1 ${binary} ${N}`,
    `echo 0 > ${INSTANCE}/tracing_on`,
    read,
    `echo "@@ltsh phase ${m} stopped"`,
    `echo 1 > /sys/module/${m}/parameters/stop; echo "@@ltsh stop ${m} rc=$?"`,
    read,
    `echo "trace overruns=$(grep -h overrun ${INSTANCE}/per_cpu/cpu*/stats | tr -dc '0-9 ')"`,
    `sed 's/^/ltsh-trace /' ${INSTANCE}/trace`,
    `rmdir ${INSTANCE}`,
    ...undefine,
    `echo "@@ltsh stats ${m}"`,
    `cat /proc/ltsh_${m}/stats`,
    `echo "@@ltsh end-stats ${m}"`,
    `rmmod ${m}; echo "@@ltsh rmmod ${m} rc=$?"`,
  ].join("\n");
}

/** Each tracker's pairs, in the plan's order. */
const pairsOf = (plans: TrackerPlan[], summaries: SummaryRecord[]) =>
  Object.fromEntries(
    plans.map((p) => [p.name, summaries.find((s) => s.tracker === p.name)?.pairs ?? 0]),
  );

/** What each tracker's chains went through, for the stated shapes. */
const kindsOf = (hits: HitRecord[], tracker: string) =>
  hits.filter((h) => h.tracker === tracker).map((h) => h.chain!.map((s) => s.stage).join(" "));

/** The module's checks, from the console of the guest that ran chainUprobeScript(). */
export function checkChainUprobeRun(console: string, module: BuiltModule, report: Report): void {
  const plans = module.plan.trackers;
  const run = parseModuleRun(console, module.name, plans);
  const hits = run.phases.flatMap((p) => p.hits);
  const records = run.phases.reduce((n, p) => n + p.records, 0);
  const problems: string[] = [];
  if (run.insmod !== 0) problems.push(`insmod exit ${run.insmod}`);
  if (run.rmmod !== 0) problems.push(`rmmod exit ${run.rmmod}`);
  if (run.phases.some((p) => p.undecodable > 0)) problems.push("undecodable hit records");
  const counted = run.stats.reduce((n, s) => n + s.hits + s.timeouts, 0);
  if (records !== 4 * counted) problems.push(`${records} records read for ${counted} chain hits`);
  const overruns = /^trace overruns=(.*)$/m.exec(console)?.[1].trim().split(/\s+/);
  if (overruns?.some((n) => n !== "0")) problems.push(`the recording overran: ${overruns}`);
  report(
    problems.length === 0,
    `${module.name}: insmod, ${counted} chain hits read, stop, stats, rmmod (${plans.length} trackers)`,
    problems,
  );
  const reference = replayGuestTrace(plans, run.trace);
  const kmodPairs = pairsOf(plans, run.stats);
  const replayPairs = pairsOf(plans, reference.summaries);
  // A hand-off that finds the worker not yet asleep in read() has no waking: the first
  // always, any other when the worker's reply let the main thread run before the worker
  // blocked again (a loaded host). The chains through a waking are held to half; the replay
  // of the same run must agree on every count.
  const throughWaking = new Set(["ctx", "mixed"]);
  const least = (name: string) => (throughWaking.has(name) ? N / 2 : N - 1);
  const inRange = plans.every((p) => kmodPairs[p.name] >= least(p.name) && kmodPairs[p.name] <= N);
  const samePairs = JSON.stringify(kmodPairs) === JSON.stringify(replayPairs);
  report(
    samePairs && inRange,
    `${module.name}: pairs per tracker, kmod ${JSON.stringify(kmodPairs)} = replay of the guest's recording, up to ${N} each (ctx and mixed ${N / 2} or more, the others ${N - 1})`,
    samePairs && inRange
      ? []
      : [`replay ${JSON.stringify(replayPairs)} (${run.trace.length} trace lines)`],
  );
  const sorted = (list: HitRecord[]) => list.map(shapeOf).sort();
  const [got, want] = [sorted(hits), sorted(reference.hits)];
  const differ = got.findIndex((s, i) => s !== want[i]);
  const sameHits = differ < 0 && got.length === want.length;
  const at = differ < 0 ? Math.min(got.length, want.length) : differ;
  report(
    sameHits,
    `${module.name}: its ${got.length} hits are replay's: stage kinds, tids and CPUs`,
    sameHits ? [] : [`kmod:   ${got[at] ?? "(none)"}`, `replay: ${want[at] ?? "(none)"}`],
  );
  const stated: Record<string, string> = {
    ctx: "origin waking run target",
    cookie: "origin waypoint target",
    mixed: "origin waking run waypoint target",
    call: "origin target",
  };
  const missing = Object.entries(stated).filter(([t, kinds]) => !kindsOf(hits, t).includes(kinds));
  const worker = hits.find((h) => h.tracker === "cookie")?.chain;
  report(
    missing.length === 0 && worker !== undefined && worker[1].tid !== worker[0].tid,
    `${module.name}: the chains go as stated (waking and run of the worker, the cookie carried to it)`,
    missing.map(([t, kinds]) => `${t}: no "${kinds}" in ${kindsOf(hits, t).join("; ")}`),
  );
}
