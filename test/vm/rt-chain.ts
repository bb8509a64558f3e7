// test:vm's PREEMPT_RT chain (issue #10): IRQ → irq/N thread → the task waiting on the disk,
// on the kernel module (the scenario, test/vm/programs/irqchain.lt) and on live eBPF in the
// same guest (`ltsh run` over the host's userspace). Each must give chains that reach the
// task through the IRQ's thread: the hard IRQ (the origin) wakes irq/N-NAME right after its
// irq_handler_exit (the IRQ tail), which runs, then wakes ltwork.

import type { HitRecord } from "../../src/records/types.ts";
import type { Report } from "./module-check.ts";
import type { Scenario } from "./scenarios.ts";
import { MARK_SETUP, type parseSessions, RUN_LIMIT_S, SLOT_BYTES } from "./session.ts";

export const IRQ_CHAIN_PROGRAM = "test/vm/programs/irqchain.lt";
const WANT = 5;

/** Hits whose path went from the IRQ through its thread to ltwork being switched in. */
export function throughIrqThread(hits: HitRecord[]): HitRecord[] {
  return hits.filter((h) => {
    const c = h.chain ?? [];
    const thread = c.findIndex((s) => s.stage === "run" && s.comm.startsWith("irq/"));
    const last = c[c.length - 1];
    return (
      c[0]?.stage === "origin" &&
      c[0].probe === "irq:irq_handler_entry" &&
      c[1]?.stage === "waking" &&
      c[1].comm.startsWith("irq/") &&
      thread > 1 &&
      c.slice(thread).some((s) => s.stage === "waking" && s.comm === "ltwork") &&
      last?.stage === "run" &&
      last.comm === "ltwork"
    );
  });
}

function describe(hits: HitRecord[]): string {
  const h = throughIrqThread(hits)[0] ?? hits[0];
  return h?.chain?.map((s) => `${s.stage} ${s.comm}`).join(", ") ?? "no hit";
}

export const IRQ_CHAIN_SCENARIO: Scenario = {
  example: "irqchain",
  program: true,
  insmodParams: "",
  printRecords: 4 * 200,
  phases: [["disk", "ltwork disk /dev/vda 20"]],
  check(run) {
    const hits = run.phases.flatMap((p) => p.hits);
    const ours = throughIrqThread(hits);
    return ours.length >= WANT
      ? []
      : [
          `${ours.length} of ${hits.length} chains through an irq/N thread to ltwork: ${describe(hits)}`,
        ];
  },
};

/**
 * `ltsh run` of the same program beside a disk workload, live on eBPF or with `--target kmod`
 * (its module prebuilt into the cache `exports` point to); its output in `slot`. Before the
 * other runs: their output goes where the disk workload writes.
 */
export function chainRunScript(
  name: string,
  slot: number,
  repo: string,
  fromSources: boolean,
  target: "ebpf" | "kmod",
  exports: string[] = [],
) {
  const env = [...(fromSources ? ["LTSH_NO_BUNDLE=1"] : []), ...exports]
    .map((e) => `export ${e} && `)
    .join("");
  const command = `cd ${repo} && ${env}exec node bin/ltsh.js run ${IRQ_CHAIN_PROGRAM} --target ${target} --for 8s --json`;
  return [
    ...MARK_SETUP,
    "{",
    `  mark "session ${name} start"`,
    "  ( while :; do ltwork disk /dev/vda 20 >/dev/null; done ) & W=$!",
    `  timeout -s KILL ${RUN_LIMIT_S} inhost sh -c '${command}' >/out/${name}.out 2>/out/${name}.err`,
    `  rc=$?; kill $W; wait $W 2>/dev/null; mark "session ${name} exit rc=$rc"`,
    `  echo "@@ltsh session ${name} bytes=$(wc -c < /out/${name}.out)"`,
    `  dd if=/out/${name}.out of=/dev/vda bs=1M seek=${(slot * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    `  sed "s/^/@@ltsh session ${name} stderr /" /out/${name}.err`,
    `  grep -q "^lt_irqchain " /proc/modules && echo "@@ltsh session ${name} left module"`,
    "}",
  ].join("\n");
}

/** The run's NDJSON: chain hits (with their stages) and the summary; lines that are neither. */
function parseChainOutput(stdout: string, tracker: string) {
  const hits: HitRecord[] = [];
  const problems: string[] = [];
  let summary: Record<string, unknown> | null = null;
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    try {
      const record = JSON.parse(line);
      if (record.type === "summary") summary = record;
      else if (record.type === "hit" && record.tracker === tracker && Array.isArray(record.chain))
        hits.push(record);
      else problems.push(`not a chain hit of ${tracker}: ${line.slice(0, 120)}`);
    } catch {
      problems.push(`not JSON: ${line.slice(0, 120)}`);
    }
  }
  if (summary === null) problems.push("no summary");
  return { hits, summary, problems };
}

export function checkChainRun(
  result: ReturnType<typeof parseSessions>[number],
  tracker: string,
  backend: string,
  report: Report,
): void {
  const out = parseChainOutput(result.stdout, tracker);
  const ours = throughIrqThread(out.hits);
  const problems = out.problems.slice(0, 5);
  if (result.exitCode !== 0) problems.push(`exit ${result.exitCode}`, ...result.stderr.slice(-10));
  if (ours.length < WANT) problems.push(`first: ${describe(out.hits)}`);
  problems.push(...result.leftovers.map((l) => `left behind: ${l}`));
  report(
    problems.length === 0,
    `guest: ${backend} chain ${IRQ_CHAIN_PROGRAM}: ${ours.length} of ${out.hits.length} hits through an irq/N thread to ltwork (${describe(out.hits)}), missed=${out.summary?.missed}`,
    problems,
  );
}
