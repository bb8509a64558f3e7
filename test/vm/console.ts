// Parses the guest's serial console: the /init script marks each module's steps with
// "@@ltsh ..." lines, the reader prints "ltsh-hit HEX" records; hits are decoded with the
// kmod session's own decoder.

import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { KmodRecords, recordsPerHit } from "../../src/session/kmod-chain.ts";
import { decodeStack, LT_HIT_CAPTURES, parseStats } from "../../src/session/kmod-decode.ts";

export interface Phase {
  name: string;
  hits: HitRecord[];
  /** Each hit's kernel stack (addresses, innermost first; [] without `stack`). */
  stacks: bigint[][];
  /** Records the reader counted (printed or not). */
  records: number;
  /** Lines the workloads printed ("sleep n=50 usec=1000 pid=71"). */
  output: string[];
  undecodable: number;
}

export interface ModuleRun {
  module: string;
  insmod: number | null;
  rmmod: number | null;
  phases: Phase[];
  stats: SummaryRecord[];
  statsText: string;
  /** Lines a scenario dumped as `ltsh-trace LINE` (a tracefs recording, test/vm/chain.ts). */
  trace: string[];
}

/** LT_HIT_CHAIN_PART: a record carrying part of a chain hit's token. */
const CHAIN_PART = 3;

/** A record of a hit that takes more than one (a chain's, one with captures), not its last. */
function leadsHit(record: Buffer, plans: TrackerPlan[]): boolean {
  const plan = record.length >= 8 ? plans[record.readUInt32LE(0)] : undefined;
  return plan !== undefined && recordsPerHit(plan) > 1;
}

/** One module's part of the console; `plans` decode its hits. */
export function parseModuleRun(console: string, module: string, plans: TrackerPlan[]): ModuleRun {
  const run: ModuleRun = {
    module,
    insmod: null,
    rmmod: null,
    phases: [],
    stats: [],
    statsText: "",
    trace: [],
  };
  let inModule = false;
  let inStats = false;
  let phase: Phase | null = null;
  const records = new KmodRecords(plans);
  for (const line of console.split("\n")) {
    const mark = /^@@ltsh (\S+) (\S+)(?: (.*))?$/.exec(line);
    if (mark && mark[1] === "module") inModule = mark[2] === module;
    if (!inModule) continue;
    if (mark) {
      const [, what, , rest = ""] = mark;
      if (what === "insmod") run.insmod = Number(rest.replace("rc=", ""));
      if (what === "rmmod") run.rmmod = Number(rest.replace("rc=", ""));
      if (what === "phase") {
        phase = { name: rest, hits: [], stacks: [], records: 0, output: [], undecodable: 0 };
        run.phases.push(phase);
      }
      if (what === "stats") inStats = true;
      if (what === "end-stats") {
        inStats = false;
        run.stats = parseStats(run.statsText);
      }
      continue;
    }
    if (inStats) {
      run.statsText += `${line}\n`;
    } else if (line.startsWith("ltsh-hit ") && phase) {
      const record = Buffer.from(line.slice(9).trim(), "hex");
      const hit = records.push(record);
      if (hit) {
        phase.hits.push(hit);
        phase.stacks.push(hit.chain ? [] : decodeStack(records.header ?? record));
      } else if (
        ![CHAIN_PART, LT_HIT_CAPTURES].includes(record.readUInt32LE(4)) &&
        !leadsHit(record, plans)
      ) {
        phase.undecodable++;
      }
    } else if (line.startsWith("ltsh-trace ")) {
      run.trace.push(line.slice(11));
    } else if (line.startsWith("ltsh-read records=") && phase) {
      phase.records = Number(line.slice(18));
    } else if (phase && /^\w+ .*=/.test(line)) {
      phase.output.push(line);
    }
  }
  return run;
}

/** "pid=71 server_pid=72" → { pid: 71, server_pid: 72 } from a phase's workload lines. */
export function workloadValues(phase: Phase): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of phase.output) {
    for (const m of line.matchAll(/(\w+)=(-?\d+)/g)) values[m[1]] = Number(m[2]);
  }
  return values;
}
