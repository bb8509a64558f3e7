// The plain trackers' differential (pairs.ts) on live eBPF, in the session guest and the
// PREEMPT_RT guest, over the host's userspace (the host's own kernel has
// test/kernel/examples-differential.test.ts): `ltsh record --for-file` records
// test/vm/programs/pairs.lt's events while `ltsh run` runs it live beside the module run's
// workloads, round after round; replay of the recording must give the live pairs, as
// pairs.ts holds the module's: same events, tasks, CPUs and printed fields.

import { writeFileSync } from "node:fs";
import { countsSkippedRuns } from "../../src/kernel/bpf.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import type { Report } from "./module-check.ts";
import { comparePairs, PAIRS_PROGRAM } from "./pairs.ts";
import { liveDifferentialScript, liveRunSlots, printedBytes, SLOT_BYTES } from "./session.ts";

export const EBPF_PAIRS_RUN = "epairs";
/** The live run; the recording starts before it and stops after it. */
const RUN_S = 15;
/**
 * A tracker's programs attach one after another, its begins can precede its cancels by a
 * moment, and at the stop they detach one by one: pairs this close to a tracker's first or
 * last live pair are not compared.
 */
const EDGE_NS = 1_000_000_000n;
/**
 * Pairs on one side only allowed where the kernel does not count a program's skipped runs
 * (before 6.7: `missed` stays 0). An interrupt landing in another event's program loses its
 * event uncounted; seen: an IRQ in a syscall's program, a block completion lost and its
 * request paired with the next completion of the same sector instead (3 pairs on one side
 * from one lost event). 0 to 4 a run of about 3,700 pairs in the generic 6.1 guest.
 */
const UNCOUNTED_PAIRS = 6;

/**
 * Guest lines: the recording, the live run, the module run's workloads (pairs.ts) round after
 * round, on /dev/vda's first MiB: before any slot is written. A pause between rounds, or the
 * reader falls behind and its ring fills under TCG.
 */
export function ebpfPairsScript(
  slot: number,
  repo: string,
  fromSources: boolean,
  limitS: number,
): string {
  return liveDifferentialScript({
    name: EBPF_PAIRS_RUN,
    program: PAIRS_PROGRAM,
    slot,
    repo,
    fromSources,
    workload: "ltwork sleep 20 1000; ltwork disk /dev/vda 10; ltwork tcp 5; sleep 1",
    workOutput: true,
    recordS: limitS,
    runS: RUN_S,
    limitS,
  });
}

/** The live run's output: its pair hits and summaries, and lines that are not JSON. */
function liveRecords(stdout: string) {
  const hits: HitRecord[] = [];
  const summaries: SummaryRecord[] = [];
  const problems: string[] = [];
  for (const [i, line] of stdout.split("\n").entries()) {
    if (line === "") continue;
    let record: Record<string, unknown>;
    try {
      // as replay's records hold them: times and keys as bigints
      record = JSON.parse(line, (key, v) => (key === "ts_ns" ? BigInt(v) : v));
    } catch (error) {
      const at = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
      const bytes = Buffer.from(line.slice(Math.max(0, at - 8), at + 8)).toString("hex");
      problems.push(`output line ${i + 1} is not JSON (${error}; around it: ${bytes})`);
      continue;
    }
    if (Array.isArray(record.key))
      record.key = record.key.map((k: unknown) => (typeof k === "number" ? BigInt(k) : k));
    if (record.type === "hit") hits.push(record as unknown as HitRecord);
    if (record.type === "summary") summaries.push(record as unknown as SummaryRecord);
  }
  return { hits, summaries, problems };
}

export function checkEbpfPairs(
  guest: { console: string; disk: Buffer; release: string; name: string },
  slot: number,
  report: Report,
) {
  const { console, disk, release } = guest;
  const name = EBPF_PAIRS_RUN;
  const problems: string[] = [];
  const rc = new RegExp(`^@@ltsh t=\\S+ session ${name} exit rc=(\\d+)$`, "m").exec(console)?.[1];
  const stderr = [...console.matchAll(new RegExp(`^@@ltsh session ${name} stderr (.*)$`, "gm"))];
  if (rc !== "0") problems.push(`ltsh run exit ${rc}`, ...stderr.map((m) => m[1]).slice(-8));
  const lost = stderr.filter((m) => /^ltsh record: warning: \d+ events lost/.test(m[1]));
  if (lost.length > 0) problems.push(...lost.map((m) => `the recording: ${m[1]}`));
  for (const [what, bytes] of [
    ["output", printedBytes(console, `session ${name}`)],
    ["recording", printedBytes(console, `${name}-trace`)],
  ] as const) {
    if (bytes > SLOT_BYTES) {
      report(false, `guest: live eBPF pairs: the ${what} (${bytes} bytes) overflows its disk slot`);
      return;
    }
  }
  const { out, trace, problem } = liveRunSlots(console, disk, name, slot);
  if (problem !== null) problems.push(problem);
  const keep = process.env.LTSH_VM_CONSOLE;
  if (keep) {
    writeFileSync(`${keep}.${guest.name}.${name}.ndjson`, out);
    writeFileSync(`${keep}.${guest.name}.${name}.trace`, trace.join("\n"));
  }
  const { hits, summaries, problems: unreadable } = liveRecords(out);
  problems.push(...unreadable.slice(0, 3));
  const missed = summaries.reduce((n, s) => n + (s.missed ?? 0), 0);
  for (const s of summaries) {
    if (s.dropped > 0) problems.push(`${s.tracker}: ${s.dropped} dropped`);
  }
  if (summaries.length === 0) problems.push("no summary");
  // each tracker's span: from its first live pair's begin to its last one's end
  const spans = new Map<string, [bigint, bigint]>();
  for (const h of hits) {
    const end = h.end?.ts_ns ?? h.begin.ts_ns;
    const span = spans.get(h.tracker);
    if (!span) spans.set(h.tracker, [h.begin.ts_ns, end]);
    else {
      if (h.begin.ts_ns < span[0]) span[0] = h.begin.ts_ns;
      if (end > span[1]) span[1] = end;
    }
  }
  const window = (tracker: string): [bigint, bigint] => {
    const [from, to] = spans.get(tracker) ?? [0n, 0n];
    return [from + EDGE_NS, to - EDGE_NS];
  };
  const workOutput = [...console.matchAll(new RegExp(`^@@ltsh ${name} work (.*)$`, "gm"))].map(
    (m) => m[1],
  );
  const counted = countsSkippedRuns(release);
  const {
    problems: differences,
    compared,
    oneSided,
  } = comparePairs({
    side: "eBPF",
    hits,
    trace,
    workOutput,
    problems,
    window,
    forgiven: counted ? 2 * missed : UNCOUNTED_PAIRS,
  });
  report(
    differences.length === 0,
    `guest: live eBPF, ${PAIRS_PROGRAM.replace(/^.*\/test\//, "test/")} beside its workloads, pairs as replay of a recording of the same run: ${[
      ...compared,
    ]
      .map(([tracker, n]) => `${tracker} ${n}`)
      .join(", ")}; missed=${missed}${
      counted
        ? ""
        : ` (not counted by Linux ${release}: ${oneSided} pairs on one side only, up to ${UNCOUNTED_PAIRS} allowed)`
    }`,
    differences,
  );
}
