// The kmod session end to end in Debian's kernel: the guest mounts the host's /usr, /etc,
// Node and this checkout over virtio-9p, chroots there, and runs `node bin/ltsh.js run
// examples/X.lt --target kmod` itself (build against the headers, insmod, read the device,
// rmmod), beside workloads; once to --for's end and once each interrupted by SIGTERM and SIGINT.
// LTSH_VM_CONSOLE=FILE keeps that guest's console (timings, stderr) and, in FILE.RUN.ndjson,
// each run's stdout for a look afterwards.

import { existsSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostRoot } from "../../scripts/vm/hostroot.ts";
import {
  buildGuestPrograms,
  buildInitramfs,
  type GuestKernel,
  NINEP_MODULES,
} from "../../scripts/vm/initramfs.ts";
import { bootVm } from "../../scripts/vm/qemu.ts";
import { compileFile } from "../../src/compiler/compile.ts";
import type { TrackerPlan } from "../../src/compiler/plan.ts";
import { checkEbpfChains, ebpfChainScript } from "./ebpf-chain.ts";
import { checkEbpfPairs, ebpfPairsScript } from "./ebpf-pairs.ts";
import { latencySumProblems } from "./latency-sum.ts";
import type { Report } from "./module-check.ts";
import {
  parseNdjson,
  parseSessions,
  RUN_LIMIT_S,
  type SessionResult,
  type SessionRun,
  SLOT_BYTES,
  sessionScript,
} from "./session.ts";

const BUNDLE_SCRIPT = new URL("../../scripts/bundle.mjs", import.meta.url).href;
const REPO = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/**
 * A git worktree's node_modules may link to another checkout's. The guest then sees that
 * directory too, and runs this checkout's sources: the start-up bundle lives in
 * node_modules/.cache and finds kmod-runtime/ beside itself, in the other checkout.
 */
const NODE_MODULES = realpathSync(join(REPO, "node_modules"));
const OWN_MODULES = NODE_MODULES.startsWith(`${REPO}/`);

/**
 * One after another, the same tracker: the first run builds its module (a minute or more
 * under TCG), the other two insert it from the session's build cache.
 */
const RUNS: SessionRun[] = [
  { name: "for", example: "wakeup", end: "for" },
  { name: "term", example: "wakeup", end: "SIGTERM" },
  { name: "int", example: "wakeup", end: "SIGINT" },
];

/** The plain trackers' live eBPF output and recording (ebpf-pairs.ts): after the chains'. */
const PAIRS_SLOT = RUNS.length + 2;

/** The start-up bundle, built here: the guest sees the checkout read-only. */
async function freshBundle(): Promise<string | null> {
  try {
    const bundle: {
      bundleStamp(): string | null;
      sourceStamp(): string;
      buildBundle(): Promise<void>;
    } = await import(BUNDLE_SCRIPT);
    if (bundle.bundleStamp() !== bundle.sourceStamp()) await bundle.buildBundle();
    return null;
  } catch (error) {
    return `no start-up bundle (${(error as Error).message}); the guest runs the sources through tsx`;
  }
}

/**
 * The host's userspace for a guest (Node, this checkout, its node_modules) and whether ltsh
 * runs from its sources there (no start-up bundle). `extraShares`: more host directories.
 */
export async function guestUserspace(extraShares: string[] = []) {
  const bundleNote = OWN_MODULES
    ? await freshBundle()
    : `node_modules is ${NODE_MODULES}, outside this checkout: the guest runs the sources through tsx`;
  if (bundleNote) process.stdout.write(`${bundleNote}\n`);
  const nodeDir = dirname(process.execPath);
  const shared = OWN_MODULES ? [nodeDir, REPO] : [nodeDir, REPO, NODE_MODULES];
  const root = hostRoot([...shared, ...extraShares], [nodeDir]);
  return { ...root, fromSources: !OWN_MODULES, repo: REPO };
}

function planOf(example: string): TrackerPlan {
  const { plan } = compileFile(join(REPO, "examples", `${example}.lt`));
  if (!plan) throw new Error(`examples/${example}.lt does not compile`);
  return plan.trackers[0];
}

function seconds(result: SessionResult, from: string, to: string): string {
  const a = result.times[from];
  const b = result.times[to];
  return a === undefined || b === undefined ? "?" : `${(b - a).toFixed(0)} s`;
}

function common(result: SessionResult): string[] {
  const problems = result.leftovers.map((l) => `left behind: ${l}`);
  if (result.times.unloaded === undefined) problems.push("module still loaded after ltsh exited");
  const errors = result.stderr.filter((l) => /error|warning/i.test(l));
  if (errors.length > 0) problems.push(...errors.map((e) => `stderr: ${e}`));
  return problems;
}

export function checkForRun(
  result: SessionResult,
  sleeperPid: number | null,
  report: Report,
): void {
  const plan = planOf(result.run.example);
  const out = parseNdjson(result.stdout, plan);
  const threshold = out.hits.filter((h) => h.kind === "threshold");
  const ofSleeper = out.hits.filter((h) => h.key[0] === sleeperPid);
  const byLtwork = threshold.filter((h) => h.begin.comm === "ltwork");
  const summary = out.summaries[0];
  const problems = [...common(result), ...out.problems.slice(0, 5)];
  if (result.exitCode !== 0) problems.push(`exit ${result.exitCode}`, ...result.stderr);
  report(
    result.exitCode === 0 && problems.length === 0,
    `guest: ltsh run ${result.run.example}.lt --target kmod --for 5s --json: exit ${result.exitCode}, module removed (start to loaded ${seconds(result, "start", "loaded")}, to exit ${seconds(result, "start", "exit")})`,
    problems,
  );
  report(
    threshold.length > 0 &&
      out.problems.length === 0 &&
      ofSleeper.length > 0 &&
      byLtwork.length > 0,
    `guest: ${out.hits.length} hit records on the output contract (latency > ${plan.thresholdNs} ns = end - begin); ${ofSleeper.length} of the sleeping ltwork (pid ${sleeperPid}), ${byLtwork.length} woken by ltwork's pipe`,
    out.problems.length > 0 ? out.problems.slice(0, 5) : [],
  );
  report(
    out.summaries.length === 1 && summary.pairs > 0 && allRead(out.hits.length, summary),
    summary
      ? `guest: summary pairs=${summary.pairs} hits=${summary.hits} timeouts=${summary.timeouts} dropped=${summary.dropped}, every counted hit read`
      : "guest: a summary record",
    out.summaries.length === 1
      ? [`${out.hits.length} hit records for ${summary.hits} hits + ${summary.timeouts} timeouts`]
      : [`${out.summaries.length} summary records`],
  );
  const sumProblems = summary
    ? latencySumProblems(
        summary,
        threshold.map((h) => h.latency_ns),
      )
    : ["no summary"];
  report(
    sumProblems.length === 0,
    `guest: summary sum_ns=${summary?.sum_ns} within its histogram and min/max, above the hits' sum`,
    sumProblems,
  );
}

/**
 * The module is stopped before its last read: the records read are the counted hits and
 * timeouts, less those lost to a full ring (within `dropped`, which also has dropped begins).
 */
function allRead(records: number, s: { hits: number; timeouts: number; dropped: number }) {
  const counted = s.hits + s.timeouts;
  return records <= counted && records >= counted - s.dropped;
}

function checkSignalRun(result: SessionResult, report: Report): void {
  const plan = planOf(result.run.example);
  const out = parseNdjson(result.stdout, plan);
  const problems = [...common(result), ...out.problems.slice(0, 5)];
  if (result.times.loaded === undefined)
    problems.push("the module never appeared in /proc/modules");
  // SIGTERM and SIGINT both end a run normally: module removed, the summary, exit 0.
  if (result.exitCode !== 0) problems.push(`exit ${result.exitCode}, expected 0`, ...result.stderr);
  if (out.summaries.length !== 1) problems.push(`no summary after ${result.run.end}`);
  else if (!allRead(out.hits.length, out.summaries[0])) {
    const s = out.summaries[0];
    problems.push(`${out.hits.length} hit records for ${s.hits} hits + ${s.timeouts} timeouts`);
  }
  report(
    problems.length === 0,
    `guest: ${result.run.end} to ltsh run ${result.run.example}.lt --target kmod 3 s after insmod: exit ${result.exitCode}, ${out.hits.length} hits${out.summaries.length ? ", summary" : ""}, module and build dir removed`,
    problems,
  );
}

export async function runSessionTests(
  kernel: GuestKernel,
  work: string,
  report: Report,
): Promise<void> {
  const missing = NINEP_MODULES.filter((m) => !existsSync(join(kernel.modulesDir, "kernel", m)));
  const [major] = process.versions.node.split(".").map(Number);
  if (missing.length > 0 || major < 22) {
    const why =
      missing.length > 0
        ? `9p modules missing: ${missing.join(", ")}`
        : `this Node (${process.version}) is older than 22`;
    report(false, `guest ltsh session: cannot share the host's userspace (${why})`);
    return;
  }
  const root = await guestUserspace();
  const script = [
    root.setup,
    // first: its disk workload writes where slot 0 is
    ebpfPairsScript(PAIRS_SLOT, REPO, root.fromSources, RUN_LIMIT_S),
    sessionScript(RUNS, REPO, root.fromSources),
    // then the chains live on eBPF against the replay of their recording (slots after the runs')
    ebpfChainScript(RUNS.length, REPO, root.fromSources),
  ].join("\n");
  const initrd = buildInitramfs({
    kernel,
    modules: [],
    kernelModules: NINEP_MODULES,
    programs: buildGuestPrograms(join(work, "guest")),
    script,
  });
  const boot = await bootVm({
    vmlinuz: kernel.vmlinuz,
    initrd,
    memoryMiB: 2048,
    // One vCPU: with two, TCG hangs while a tracepoint's static call is patched (one vCPU
    // loops on the int3 the patch already removed); scripts/vm/tcg-smp-hang.ts shows it with
    // tracefs alone, no ltsh code. kmod-runtime's own selftest covers SMP races.
    cpus: 1,
    diskMiB: ((PAIRS_SLOT + 2) * SLOT_BYTES) >> 20,
    readDisk: true,
    shares: root.shares,
    // The first run's build, then two runs from the cache.
    timeoutMs: (RUN_LIMIT_S + 600) * 1000,
  });
  if (process.env.LTSH_VM_CONSOLE) writeFileSync(process.env.LTSH_VM_CONSOLE, boot.console);
  const failedShares = boot.console
    .split("\n")
    .filter((l) => /^@@ltsh (share|virtio)-failed/.test(l));
  report(
    boot.completed && failedShares.length === 0,
    `session guest (host userspace over 9p) ran to power-off (${boot.accel}, ${(boot.elapsedMs / 1000).toFixed(1)} s)`,
    boot.completed
      ? failedShares
      : [
          ...failedShares,
          `timed out: ${boot.timedOut}`,
          boot.console.split("\n").slice(-30).join("\n"),
        ],
  );
  const trouble = boot.console
    .split("\n")
    .filter((l) => /@@ltsh dmesg .*(BUG|WARNING|Oops)/.test(l));
  report(trouble.length === 0, "session guest: no BUG, WARNING or Oops in the kernel log", trouble);
  const sleeper = /^@@ltsh workload sleeper_pid=(\d+)$/m.exec(boot.console);
  const results = parseSessions(boot.console, boot.disk ?? Buffer.alloc(0), RUNS);
  for (const r of results) {
    const keep = process.env.LTSH_VM_CONSOLE;
    if (keep) writeFileSync(`${keep}.${r.run.name}.ndjson`, r.stdout);
  }
  for (const result of results) {
    if (result.run.end === "for") checkForRun(result, sleeper ? Number(sleeper[1]) : null, report);
    else checkSignalRun(result, report);
  }
  checkEbpfChains(boot.console, boot.disk ?? Buffer.alloc(0), RUNS.length, report);
  const disk = boot.disk ?? Buffer.alloc(0);
  checkEbpfPairs(
    { console: boot.console, disk, release: kernel.release, name: "session" },
    PAIRS_SLOT,
    report,
  );
  const cached = [...boot.console.matchAll(/^@@ltsh cached (\S+)$/gm)].map((m) => m[1]);
  const loads = results.map((r) => seconds(r, "start", "loaded")).join(", ");
  report(
    cached.length === new Set(RUNS.map((r) => r.example)).size,
    `guest: ${cached.length} module build(s) cached for ${RUNS.length} runs (start to loaded: ${loads})`,
  );
}
