// The `ltsh run FILE.lt --target kmod` runs of the VM test: what the guest does (ltsh itself,
// from the host's checkout through virtio-9p, with workloads beside it) and the checks on
// what came back: NDJSON hits and summaries, exit status, and no module or build dir left.

import { gunzipSync } from "node:zlib";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import type { SummedCounters } from "./latency-sum.ts";

export interface SessionRun {
  /** Also the slot name in the guest's marks ("@@ltsh session NAME ..."). */
  name: string;
  example: string;
  /** "for": --for 5s; a signal: sent 3 s after the module is loaded. */
  end: "for" | "SIGTERM" | "SIGINT";
}

/**
 * A run killed after this: a ceiling for a hang, not an expected time. The first run's
 * build takes minutes under TCG, and several times that on a host busy with other work.
 */
export const RUN_LIMIT_S = 1200;

/**
 * Each run's stdout goes to the scratch disk, one slot each (the console is slow). A hit
 * line is ~330 bytes, and a wakeup tracker over these workloads on a busy TCG host printed
 * 6400 hits in one --for 5s run (its 4096-record ring read out after the stop included); a
 * chain hit, with its stages, is ~1 KB, and the PREEMPT_RT guest's irqchain.lt printed 8042
 * of them (8.3 MB) once its programs got cheaper. The disk is sparse.
 */
export const SLOT_BYTES = 16 << 20;

/** A live eBPF differential's guest run: `ltsh run` beside a workload, `ltsh record` around it. */
export interface LiveDifferential {
  /** The run's name in the console's marks and files. */
  name: string;
  program: string;
  /** Its output goes to this disk slot, the recording to the next. */
  slot: number;
  repo: string;
  fromSources: boolean;
  /** Shell commands run round after round while the live run runs. */
  workload: string;
  /** The workload's output as `@@ltsh NAME work` console lines (else discarded). */
  workOutput: boolean;
  /** How long the recording may run, the live run runs, and either may take at most. */
  recordS: number;
  runS: number;
  limitS: number;
}

/**
 * The guest lines of a live differential (ebpf-chain.ts, ebpf-pairs.ts): the recording
 * first, then the workload's rounds and the live run; both outputs to the run's two slots.
 */
export function liveDifferentialScript(r: LiveDifferential): string {
  const env = r.fromSources ? "export LTSH_NO_BUNDLE=1 && " : "";
  const ltsh = `cd ${r.repo} && ${env}exec node bin/ltsh.js`;
  const { name, slot } = r;
  const record = `${ltsh} record --for-file ${r.program} --for ${r.recordS}s -o /tmp/${name}.txt.gz`;
  const work = r.workOutput ? `>/out/${name}.work 2>&1` : ">/dev/null 2>&1";
  return [
    ...MARK_SETUP,
    "{",
    `  mark "session ${name} start"`,
    "  mountpoint -q /newroot/sys/kernel/tracing || mount -t tracefs nodev /newroot/sys/kernel/tracing",
    `  inhost sh -c '${record}' 2>/out/${name}.rec & R=$!`,
    // until the recording runs (ltsh's start-up under TCG takes a while), or it failed
    "  n=0; while ! ls -d /sys/kernel/tracing/instances/ltsh-*-record >/dev/null 2>&1 && kill -0 $R 2>/dev/null && [ $n -lt 600 ]; do sleep 0.5; n=$((n + 1)); done",
    `  ( while :; do ${r.workload}; done ) ${work} & W=$!`,
    `  timeout -s KILL ${r.limitS} inhost sh -c '${ltsh} run ${r.program} --for ${r.runS}s --json' >/out/${name}.out 2>/out/${name}.err`,
    `  rc=$?; kill $W; wait $W 2>/dev/null; kill -INT $R; wait $R; mark "session ${name} exit rc=$rc"`,
    `  echo "@@ltsh session ${name} bytes=$(wc -c < /out/${name}.out)"`,
    `  echo "@@ltsh ${name}-trace bytes=$(wc -c < /newroot/tmp/${name}.txt.gz)"`,
    `  dd if=/out/${name}.out of=/dev/vda bs=1M seek=${(slot * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    `  dd if=/newroot/tmp/${name}.txt.gz of=/dev/vda bs=1M seek=${((slot + 1) * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    ...(r.workOutput ? [`  sed "s/^/@@ltsh ${name} work /" /out/${name}.work`] : []),
    `  sed "s/^/@@ltsh session ${name} stderr /" /out/${name}.err /out/${name}.rec`,
    "}",
  ].join("\n");
}

/** A number the guest printed as `@@ltsh LABEL bytes=N` (0 when it did not). */
export function printedBytes(console: string, label: string): number {
  return Number(new RegExp(`^@@ltsh ${label} bytes=(\\d+)$`, "m").exec(console)?.[1] ?? 0);
}

/**
 * A live differential's output (its slot, NUL-padded) and its recording (gzipped text in the
 * next slot, as long as the console says).
 */
export function liveRunSlots(console: string, disk: Buffer, name: string, slot: number) {
  const out = disk
    .subarray(slot * SLOT_BYTES)
    .toString("utf8")
    .split("\0")[0];
  const start = (slot + 1) * SLOT_BYTES;
  try {
    const size = printedBytes(console, `${name}-trace`);
    const text = gunzipSync(disk.subarray(start, start + size)).toString("utf8");
    return { out, trace: text.split("\n"), problem: null };
  } catch (error) {
    return { out, trace: [], problem: `no recording: ${(error as Error).message}` };
  }
}

/** The guest's shell function for timed marks on the console, and the runs' output dir. */
export const MARK_SETUP = [
  'mark() { echo "@@ltsh t=$(cut -d" " -f1 /proc/uptime) $*"; }',
  "mkdir -p /out",
];

/**
 * The guest lines for the runs, one after another, in the chroot /bin/inhost enters;
 * `fromSources`: ltsh runs its TypeScript through tsx instead of the start-up bundle;
 * `exports`: NAME=VALUE for ltsh's environment (e.g. XDG_CACHE_HOME, a prepared build cache).
 */
export function sessionScript(
  runs: SessionRun[],
  repo: string,
  fromSources = false,
  exports: string[] = [],
): string {
  const env = [...(fromSources ? ["LTSH_NO_BUNDLE=1"] : []), ...exports]
    .map((e) => `export ${e} && `)
    .join("");
  const lines = [
    ...MARK_SETUP,
    // Wait for a module to appear in /proc/modules; the build under TCG takes a minute or two.
    // (or for ltsh, pid $2, to exit first: a zombie until waited for, so not kill -0). Every
    // 300 polls, the objects built so far: where the time goes when a run is slow. (A while
    // loop returns its body's last status: hence the if, and the return 0.)
    'waitmod() { n=0; while ! grep -q "^$1 " /proc/modules; do grep -qs "^State:[[:space:]]*[RSDT]" /proc/$2/status || return 1; sleep 0.1; n=$((n + 1)); if [ $((n % 300)) = 0 ]; then mark "waiting for $1: $(ls /newroot/tmp/ltsh-$2-kmod-*/*.o 2>/dev/null | wc -l) objects built"; fi; done; return 0; }',
    // Timer wakeups of a known pid, and pipe wakeups where both sides are ltwork. Started
    // once the first module is in: beside the first run's build they would take most of the
    // one vCPU and triple its time.
    "SLEEPER=; PIPES=",
    'startwork() { [ -n "$SLEEPER" ] && return; ltwork sleep 1000000 2000 >/dev/null & SLEEPER=$!; ( while :; do ltwork pipe 300 >/dev/null; done ) & PIPES=$!; echo "@@ltsh workload sleeper_pid=$SLEEPER"; }',
  ];
  runs.forEach((run, slot) => {
    const module = `lt_${run.example}`;
    const forArg = run.end === "for" ? " --for 5s" : "";
    const command = `cd ${repo} && ${env}exec node bin/ltsh.js run examples/${run.example}.lt --target kmod${forArg} --json`;
    // A group, not a subshell: startwork's pids must reach the kill at the end.
    lines.push(
      `{`,
      `  mark "session ${run.name} start"`,
      // busybox timeout execs the command in place, so $! is ltsh's own pid (see inhost).
      `  timeout -s KILL ${RUN_LIMIT_S} inhost sh -c '${command}' >/out/${run.name}.out 2>/out/${run.name}.err &`,
      `  L=$!`,
    );
    lines.push(`  waitmod ${module} $L && mark "session ${run.name} loaded" && startwork`);
    if (run.end !== "for") {
      const signal = run.end.slice(3);
      lines.push(
        `  sleep 3; mark "session ${run.name} kill ${signal} $L $(cat /proc/$L/comm)"`,
        `  kill -${signal} $L`,
      );
    }
    lines.push(
      `  wait $L; rc=$?`,
      `  mark "session ${run.name} exit rc=$rc"`,
      `  grep -q "^${module} " /proc/modules || mark "session ${run.name} unloaded"`,
      `  echo "@@ltsh session ${run.name} bytes=$(wc -c < /out/${run.name}.out)"`,
      `  dd if=/out/${run.name}.out of=/dev/vda bs=1M seek=${(slot * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
      `  sed "s/^/@@ltsh session ${run.name} stderr /" /out/${run.name}.err`,
      `  grep -q "^${module} " /proc/modules && echo "@@ltsh session ${run.name} left module ${module}"`,
      `  [ -e /dev/ltsh_${module} ] && echo "@@ltsh session ${run.name} left device"`,
      `  ls /newroot/tmp | grep "^ltsh-$L-kmod" | sed "s/^/@@ltsh session ${run.name} left build dir /"`,
      `}`,
    );
  });
  lines.push(
    // One build per distinct tracker: later runs insert the cached module.
    'ls /newroot/root/.cache/ltsh/kmod/*/ | sed "s/^/@@ltsh cached /"',
    '[ -n "$SLEEPER" ] && kill $PIPES $SLEEPER',
    'mark "sessions done"',
    'dmesg | grep -E "BUG|WARNING|Oops|lt_" | sed "s/^/@@ltsh dmesg /"',
  );
  return lines.join("\n");
}

export interface SessionResult {
  run: SessionRun;
  exitCode: number | null;
  stdout: string;
  stderr: string[];
  /** Modules, devices or build directories still there after ltsh exited. */
  leftovers: string[];
  /** Guest uptime (s) at start, module loaded, exit. */
  times: Record<string, number>;
}

export function parseSessions(console: string, disk: Buffer, runs: SessionRun[]): SessionResult[] {
  return runs.map((run, slot) => {
    const result: SessionResult = {
      run,
      exitCode: null,
      stdout: "",
      stderr: [],
      leftovers: [],
      times: {},
    };
    const prefix = `@@ltsh session ${run.name} `;
    for (const line of console.split("\n")) {
      const timed = /^@@ltsh t=([\d.]+) session (\S+) (\S+)(?: rc=(\d+))?/.exec(line);
      if (timed && timed[2] === run.name) {
        result.times[timed[3]] = Number(timed[1]);
        if (timed[3] === "exit") result.exitCode = Number(timed[4]);
      }
      if (!line.startsWith(prefix)) continue;
      const rest = line.slice(prefix.length);
      const bytes = /^bytes=(\d+)$/.exec(rest);
      if (bytes) {
        const size = Math.min(Number(bytes[1]), SLOT_BYTES);
        result.stdout = disk.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + size).toString();
        if (Number(bytes[1]) > SLOT_BYTES) result.leftovers.push(`stdout over ${SLOT_BYTES} bytes`);
      } else if (rest.startsWith("stderr ")) result.stderr.push(rest.slice(7));
      else if (rest.startsWith("left ")) result.leftovers.push(rest.slice(5));
    }
    return result;
  });
}

/** The NDJSON hit fields in the order of the output contract. */
const HIT_FIELDS = [
  "type",
  "tracker",
  "kind",
  "latency_ns",
  "key",
  "begin",
  "end",
  "snapshot",
  "stack",
];
/** What later features add after those, in this order, when the tracker has them (README). */
const HIT_ADDITIONS = ["key_comm", "fields", "fields_text"];
const CONTEXT_FIELDS = ["probe", "ts_ns", "cpu", "tid", "pid", "comm"];

interface Context {
  probe: string;
  ts_ns: number;
  cpu: number;
  tid: number;
  pid: number;
  comm: string;
}

interface Parsed {
  hits: { kind: string; latency_ns: number; key: number[]; begin: Context; end: Context | null }[];
  summaries: (SummedCounters & {
    tracker: string;
    hits: number;
    timeouts: number;
    dropped: number;
  })[];
  problems: string[];
}

/** Every stdout line must be a hit or summary of the output contract for `plan`. */
export function parseNdjson(stdout: string, plan: TrackerPlan): Parsed {
  const parsed: Parsed = { hits: [], summaries: [], problems: [] };
  const lines = stdout.split("\n").filter((l) => l !== "");
  for (const [i, line] of lines.entries()) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      parsed.problems.push(`line ${i + 1} is not JSON: ${line.slice(0, 120)}`);
      continue;
    }
    if (record.type === "summary") {
      parsed.summaries.push(record as unknown as Parsed["summaries"][number]);
      continue;
    }
    const hit = record as unknown as Parsed["hits"][number];
    const problem = hitProblem(record, hit, plan);
    if (problem) parsed.problems.push(`line ${i + 1}: ${problem}: ${line.slice(0, 200)}`);
    parsed.hits.push(hit);
  }
  if (
    lines.length > 0 &&
    !lines[lines.length - 1].includes('"type":"summary"') &&
    parsed.summaries.length > 0
  ) {
    parsed.problems.push("the summary is not the last record");
  }
  return parsed;
}

function hitProblem(
  record: Record<string, unknown>,
  hit: Parsed["hits"][number],
  plan: TrackerPlan,
): string | null {
  const keys = Object.keys(record);
  const added = keys.slice(HIT_FIELDS.length);
  if (
    keys.slice(0, HIT_FIELDS.length).join() !== HIT_FIELDS.join() ||
    added.join() !== HIT_ADDITIONS.filter((f) => added.includes(f)).join()
  ) {
    return "fields not those of a hit";
  }
  // wakeup.lt is keyed by the woken pid: the hit names that task, or says it could not
  if (added.includes("key_comm") && record.key_comm !== null && typeof record.key_comm !== "string")
    return `key_comm ${JSON.stringify(record.key_comm)}`;
  if (record.tracker !== plan.name) return `tracker ${record.tracker}`;
  const begins = plan.begins.map((b) => b.probe.id);
  const ends = plan.ends.map((e) => e.probe.id);
  if (Object.keys(hit.begin).join() !== CONTEXT_FIELDS.join()) return "begin context fields";
  if (!begins.includes(hit.begin.probe)) return `begin probe ${hit.begin.probe}`;
  if (!Array.isArray(hit.key) || hit.key.length !== plan.keyTypes.length) return "key shape";
  if (hit.kind === "threshold") {
    if (hit.end === null || Object.keys(hit.end).join() !== CONTEXT_FIELDS.join())
      return "end context fields";
    if (!ends.includes(hit.end.probe)) return `end probe ${hit.end.probe}`;
    if (plan.thresholdNs !== null && !(hit.latency_ns > plan.thresholdNs))
      return `latency ${hit.latency_ns} not above the threshold ${plan.thresholdNs}`;
    if (hit.end.ts_ns - hit.begin.ts_ns !== hit.latency_ns) return "latency is not end - begin";
  } else if (hit.kind === "timeout") {
    if (hit.end !== null) return "a timeout with an end";
  } else return `kind ${hit.kind}`;
  return null;
}
