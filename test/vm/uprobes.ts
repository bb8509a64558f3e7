// test:vm's user-space probe scenario: the workload of test/fixtures/usdt/ (built static for
// the busybox guest) under one module with uprobe, uretprobe and USDT trackers: every USDT
// argument form, semaphore-guarded probes, a probe with two sites, a begin and its end on
// two threads keyed by a cookie, str() in a filter, builtins, and a USDT begin with a
// tracepoint end in one tracker (so one module). A `serve` process started before insmod
// (probes go into running processes) and a fresh one each run ITERATIONS iterations; pairs
// and keys must be what the workload's header promises, and what live eBPF gives on the
// host for the same binary and sequence. After rmmod the running process goes on with its
// semaphores lowered (and no breakpoint left, or it would die of SIGTRAP).

import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { FilePlan } from "../../src/compiler/plan.ts";
import { checkLivePermissions } from "../../src/kernel/permissions.ts";
import type { HitRecord, SummaryRecord } from "../../src/records/types.ts";
import { HIT_RECORD_SIZE } from "../../src/session/kmod-decode.ts";
import { LiveSession } from "../../src/session/live.ts";
import type { BuiltModule } from "./build.ts";
import { parseModuleRun } from "./console.ts";
import { latencySumProblems } from "./latency-sum.ts";
import type { Report } from "./module-check.ts";

/** Iterations of each of the two processes. ≥ 5: `globals` and `scaled` pair at i = 5. */
export const ITERATIONS = 10;
/** The module's name: the program file is uprobes.lt. */
export const UPROBE_MODULE = "lt_uprobes";

const SOURCES = new URL("../fixtures/usdt/", import.meta.url).pathname;

/** Builds the workload static (the guest has no libc) into `dir`, once per source change. */
export function buildStaticWorkload(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, "ltusdt");
  const sources = ["workload.c", "guarded.c", "libprobe.c", "frame.c", "workload.h"];
  const stale = (s: string) => statSync(join(SOURCES, s)).mtimeMs > statSync(binary).mtimeMs;
  if (existsSync(binary) && !sources.some(stale)) return binary;
  const gcc = (...args: string[]) => execFileSync("gcc", args, { cwd: dir, stdio: "pipe" });
  // frame.c wants -O0 (operands in the stack frame), as test/uprobe/workload.ts builds it.
  gcc("-O0", "-c", join(SOURCES, "frame.c"), "-o", "frame.o");
  const main = ["workload.c", "guarded.c", "libprobe.c"].map((f) => join(SOURCES, f));
  const flags = ["-O2", "-g0", "-Wall", "-Wextra", "-Werror", "-static", "-pthread"];
  gcc(...flags, ...main, "frame.o", "-o", binary);
  return binary;
}

/** The trackers, each pairing only on values the workload's header promises. */
export function uprobeProgram(P: string): string {
  return `# test:vm user-space probes (test/vm/uprobes.ts) on ${P}
track argv: uprobe:${P}:lt_add(arg0) where arg1 == 100 -> usdt:${P}:frame(arg2) > 1ns
track ret: uretprobe:${P}:lt_add($tid) where retval == 105
        -> usdt:${P}:constants($tid) where arg0 == 5 && arg1 == -1 > 1ns
track widths: usdt:${P}:registers(arg1) -> usdt:${P}:widths(arg2) > 1ns
track globals: usdt:${P}:globals($tid) where arg0 == 100 && arg1 == 200
        -> usdt:${P}:indexed($tid) where arg0 == 50 > 1ns
track scaled: usdt:${P}:scaled($tid) where arg0 == 50 && arg1 == 200 && arg2 == 100
        -> usdt:${P}:frame($tid) where arg0 == 15 && arg1 == 120 > 1ns
track cookie: usdt:${P}:ltsh:work__begin(arg0) -> usdt:${P}:work__end(arg0) > 1ns
track guarded: usdt:${P}:guarded(arg0) -> usdt:${P}:tick(arg0) > 1ns
track twosites: usdt:${P}:tick(arg0) -> usdt:${P}:tick(arg0) > 1ns
track lib: usdt:${P}:guarded(arg0) -> usdt:${P}:ltshlib:call(arg0) > 1ns
track greet: uprobe:${P}:lt_greet($tid) where str(arg0) == "ltsh"
        -> uretprobe:${P}:lt_greet($tid) where retval == 4 > 1ns
track mixed: usdt:${P}:work__begin($pid) where comm == "ltusdt" -> sys_exit_getppid($pid) > 1ns
`;
}

/** Writes the program for `binary` into `work` as uprobes.lt (module lt_uprobes); its path. */
export function writeUprobeProgram(work: string, binary: string): string {
  const file = join(work, "uprobes.lt");
  writeFileSync(file, uprobeProgram(binary));
  return file;
}

/** Pairs per tracker and sorted keys, for one run of both processes. */
interface Outcome {
  pairs: Record<string, number>;
  keys: Record<string, string[]>;
}

const N = ITERATIONS;
/** f(1) … f(N), `copies` times over. */
const repeat = (copies: number, f: (i: number) => number) =>
  Array.from({ length: copies * N }, (_, k) => f((k % N) + 1));

/** What the workload's header promises for two processes of N iterations each. */
export function statedOutcome(): Outcome {
  const all = (n: number) => 2 * n;
  return {
    pairs: {
      argv: all(N),
      ret: all(1),
      widths: all(N),
      globals: all(1), // i & 15 == 5
      scaled: all(1),
      cookie: all(N),
      guarded: all(N),
      // Each process leaves its late site's begins pending: the second's early sites end them.
      twosites: 3 * N,
      lib: all(N),
      greet: all(N),
      mixed: all(N),
    },
    keys: {
      argv: sorted(repeat(2, (i) => i)),
      widths: sorted(repeat(2, (i) => -i)),
      cookie: sorted(repeat(2, (i) => 0xc0de00 + i)),
      guarded: sorted(repeat(2, (i) => i)),
      twosites: sorted(repeat(3, (i) => i)),
      lib: sorted(repeat(2, (i) => i)),
    },
  };
}

function sorted(values: (number | bigint)[]): string[] {
  return values
    .map((v) => BigInt(v))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map(String);
}

function outcomeOf(hits: HitRecord[], summaries: SummaryRecord[], keyed: string[]): Outcome {
  const pairs = Object.fromEntries(summaries.map((s) => [s.tracker, s.pairs]));
  const keys = Object.fromEntries(
    keyed.map((t) => [
      t,
      sorted(hits.filter((h) => h.tracker === t).map((h) => h.key[0] as bigint)),
    ]),
  );
  return { pairs, keys };
}

/** The guest's part: the serve process, insmod, both runs, read, stop, stats, rmmod, after. */
export function uprobeScript(binary: string): string {
  const m = UPROBE_MODULE;
  const read = `ltread /dev/ltsh_${m} ${HIT_RECORD_SIZE} 300`;
  const served = (n: number) =>
    `w=0; while [ "$(grep -c iterations /tmp/ltusdt.out)" -lt ${n} ] && [ $w -lt 300 ]; do sleep 0.1; w=$((w + 1)); done`;
  return [
    `echo "@@ltsh module ${m}"`,
    // Before the file is there: init fails after its tracepoint probe, and undoes it all.
    `insmod /lib/ltsh/${m}.ko; echo "@@ltsh uprobes missing rc=$? loaded=$(grep -c "^${m} " /proc/modules)"`,
    `dmesg | grep "${m}: " | sed "s/^/@@ltsh uprobes log /"`,
    `mkdir -p ${dirname(binary)} && cp /bin/ltusdt ${binary}`,
    "mkfifo /tmp/ltusdt.in",
    `${binary} serve < /tmp/ltusdt.in > /tmp/ltusdt.out & S=$!`,
    "exec 3> /tmp/ltusdt.in",
    `insmod /lib/ltsh/${m}.ko; echo "@@ltsh insmod ${m} rc=$?"`,
    `echo "@@ltsh phase ${m} running"`,
    `echo ${N} >&3; ${served(1)}`,
    'echo "serve $(grep iterations /tmp/ltusdt.out | sed -n 1p)"',
    `echo "fresh $(${binary} ${N})"`,
    read,
    `echo "@@ltsh phase ${m} stopped"`,
    `echo 1 > /sys/module/${m}/parameters/stop; echo "@@ltsh stop ${m} rc=$?"`,
    read,
    `echo "@@ltsh stats ${m}"`,
    `cat /proc/ltsh_${m}/stats`,
    `echo "@@ltsh end-stats ${m}"`,
    `rmmod ${m}; echo "@@ltsh rmmod ${m} rc=$?"`,
    `echo 1 >&3; ${served(2)}`,
    'echo "@@ltsh uprobes after $(grep iterations /tmp/ltusdt.out | sed -n 2p)"',
    'exec 3>&-; wait $S; echo "@@ltsh uprobes serve-exit rc=$?"',
  ].join("\n");
}

/** The eBPF run on the host: its outcome, why it cannot run here, or how it failed. */
export type EbpfReference = { outcome: Outcome } | { skipped: string } | { failed: string };

/**
 * The same program live on the host's eBPF backend, on the same binary and sequence (a
 * serve process started first, then a fresh one).
 */
export async function ebpfReference(plan: FilePlan, binary: string): Promise<EbpfReference> {
  const perms = checkLivePermissions();
  if (!perms.ok) return { skipped: `no live eBPF on this host: ${perms.message}` };
  const serve = spawn(binary, ["serve"], { stdio: ["pipe", "pipe", "ignore"] });
  let output = "";
  serve.stdout.on("data", (c) => {
    output += c;
  });
  const lines = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const until = Date.now() + 30_000;
      const poll = () => {
        if (output.split("\n").length > n) resolve();
        else if (Date.now() > until) reject(new Error(`${binary} serve printed: ${output}`));
        else setTimeout(poll, 20);
      };
      poll();
    });
  const hits: HitRecord[] = [];
  const session = LiveSession.open({
    options: plan.options,
    listener: { hit: (h) => hits.push(h), warning: () => {} },
  });
  try {
    await lines(1);
    for (const t of plan.trackers) await session.add(t);
    serve.stdin.write(`${N}\n`);
    await lines(2);
    await promisify(execFile)(binary, [String(N)]);
    const summaries = await session.close();
    return { outcome: outcomeOf(hits, summaries, Object.keys(statedOutcome().keys)) };
  } catch (error) {
    await session.close().catch(() => {});
    return { failed: (error as Error).message };
  } finally {
    serve.stdin.end();
  }
}

/** The file the module probes: the one path of its plan's user-space probes. */
function binaryOf(module: BuiltModule): string {
  return module.plan.trackers[0].begins[0].probe.user?.path ?? "?";
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The module's checks, from the console of the guest that ran uprobeScript(). */
export function checkUprobeRun(
  console: string,
  module: BuiltModule,
  ebpf: EbpfReference,
  report: Report,
): void {
  const run = parseModuleRun(console, module.name, module.plan.trackers);
  const hits = run.phases.flatMap((p) => p.hits);
  const records = run.phases.reduce((n, p) => n + p.records, 0);
  const stated = statedOutcome();
  const got = outcomeOf(hits, run.stats, Object.keys(stated.keys));
  const problems: string[] = [];
  if (run.insmod !== 0) problems.push(`insmod exit ${run.insmod}`);
  if (run.rmmod !== 0) problems.push(`rmmod exit ${run.rmmod}`);
  if (run.phases.some((p) => p.undecodable > 0)) problems.push("undecodable hit records");
  const counted = run.stats.reduce((n, s) => n + s.hits + s.timeouts, 0);
  if (records !== counted) problems.push(`${records} records read for ${counted} hits`);
  for (const s of run.stats) {
    if (s.dropped !== 0) problems.push(`${s.tracker}: dropped ${s.dropped}`);
    const paired = hits.filter((h) => h.tracker === s.tracker).map((h) => h.latency_ns);
    problems.push(...latencySumProblems(s, paired).map((p) => `${s.tracker}: ${p}`));
  }
  const missing = /^@@ltsh uprobes missing rc=(\d+) loaded=(\d+)/m.exec(console);
  const log = [...console.matchAll(/^@@ltsh uprobes log (.*)$/gm)].map((l) => l[1]);
  const failedCleanly =
    missing !== null &&
    missing[1] !== "0" &&
    missing[2] === "0" &&
    log.some((l) => l.endsWith(`cannot find ${binaryOf(module)}: -2`));
  report(
    failedCleanly,
    `${module.name}: insmod before the probed file exists fails, says why, leaves nothing loaded`,
    failedCleanly ? [] : [missing?.[0] ?? "no report", ...log],
  );
  report(
    problems.length === 0,
    `${module.name}: insmod, ${records} hits read, stop, stats, rmmod (${run.stats.length} trackers)`,
    problems,
  );
  report(
    sameJson(got.pairs, stated.pairs),
    `${module.name}: pairs per tracker are the workload's: ${JSON.stringify(got.pairs)}`,
    sameJson(got.pairs, stated.pairs) ? [] : [`expected ${JSON.stringify(stated.pairs)}`],
  );
  const wrongKeys = Object.keys(stated.keys).filter((t) => !sameJson(got.keys[t], stated.keys[t]));
  report(
    wrongKeys.length === 0,
    `${module.name}: keys (argument values) of ${Object.keys(stated.keys).join(", ")} are the workload's`,
    wrongKeys.map((t) => `${t}: ${got.keys[t]?.join(" ")}, expected ${stated.keys[t].join(" ")}`),
  );
  const cookies = hits.filter((h) => h.tracker === "cookie");
  report(
    cookies.length > 0 &&
      cookies.every(
        (h) => h.end !== null && h.end.tid !== h.begin.tid && h.end.pid === h.begin.pid,
      ),
    `${module.name}: every cookie pair begins in one thread and ends in another of the same process`,
  );
  const mixed = hits.filter((h) => h.tracker === "mixed");
  report(
    mixed.length > 0 &&
      mixed.every(
        (h) =>
          h.begin.comm === "ltusdt" &&
          h.key[0] === BigInt(h.begin.pid) &&
          h.end?.probe === "syscalls:sys_exit_getppid",
      ),
    `${module.name}: a USDT begin ends at a tracepoint, keyed by $pid, filtered on comm`,
  );
  const output = run.phases.flatMap((p) => p.output).join("\n");
  const enabled = (output.match(/enabled=1 lib_enabled=1/g) ?? []).length;
  report(
    enabled === 2,
    `${module.name}: both semaphores raised in the running and the new process`,
    enabled === 2 ? [] : [output],
  );
  const after = /^@@ltsh uprobes after (.*)$/m.exec(console)?.[1] ?? "";
  const exit = /^@@ltsh uprobes serve-exit rc=(\d+)/m.exec(console)?.[1];
  report(
    after.includes("iterations=1 ") && after.includes("enabled=0 lib_enabled=0") && exit === "0",
    `${module.name}: after rmmod the running process goes on, semaphores lowered, exit ${exit}: ${after}`,
  );
  if ("skipped" in ebpf) {
    process.stdout.write(`     (no eBPF comparison: ${ebpf.skipped})\n`);
    return;
  }
  const same = "outcome" in ebpf && sameJson(got, ebpf.outcome);
  report(
    same,
    `${module.name}: the same pairs and keys as live eBPF on the host, same binary and sequence`,
    "failed" in ebpf
      ? [`the eBPF run failed: ${ebpf.failed}`]
      : same
        ? []
        : [`kmod ${JSON.stringify(got)}`, `eBPF ${JSON.stringify(ebpf.outcome)}`],
  );
}
