// What user-space probes cost: the test workload (test/fixtures/usdt/) runs N iterations
// with no tracer, with empty programs on the probes, under ltsh, and under bpftrace on the
// same probes (uprobe + uretprobe on lt_add keyed by tid, USDT work__begin → work__end on
// another thread keyed by a cookie), modes interleaved over rounds. Reports the workload's
// loop time per iteration (median over rounds) and the kernel's time per program run
// (bpf_stats), and ltsh's cost above the empty-program floor against bpftrace's. Run as root:
//   node --import tsx bench/uprobe.ts [ITERATIONS] [ROUNDS]

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { compileSource } from "../src/compiler/compile.ts";
import { planUserProbe } from "../src/compiler/uprobe/probe-plan.ts";
import { BpfProgType, closeFd, loadProgram } from "../src/kernel/bpf.ts";
import { onCleanup } from "../src/kernel/cleanup.ts";
import { attachUprobe } from "../src/kernel/uprobe.ts";
import { LiveSession } from "../src/session/live.ts";
import { buildWorkload } from "../test/uprobe/workload.ts";
import { progStats, withBpfStats } from "./live-measure.ts";

const ITERATIONS = Number(process.argv[2] ?? 20000);
const ROUNDS = Number(process.argv[3] ?? 5);
const MODES = ["none", "empty", "ltsh", "bpftrace"] as const;
type Mode = (typeof MODES)[number];

const w = buildWorkload();
const P = w.pie;
const SPELLINGS = [
  `uprobe:${P}:lt_add`,
  `uretprobe:${P}:lt_add`,
  `usdt:${P}:ltsh:work__begin`,
  `usdt:${P}:ltsh:work__end`,
];
const LTSH = `track add: uprobe:${P}:lt_add($tid) -> uretprobe:${P}:lt_add($tid)
track work: usdt:${P}:ltsh:work__begin(arg0) -> usdt:${P}:work__end(arg0)`;
const BPFTRACE = `uprobe:${P}:lt_add { @s[tid] = nsecs; }
uretprobe:${P}:lt_add /@s[tid]/ { @add = hist(nsecs - @s[tid]); delete(@s[tid]); }
usdt:${P}:ltsh:work__begin { @w[arg0] = nsecs; }
usdt:${P}:ltsh:work__end /@w[arg0]/ { @work = hist(nsecs - @w[arg0]); delete(@w[arg0]); }`;

/** µs per iteration of the workload (its whole run, divided). */
function loopTime(): number {
  const t0 = performance.now();
  const done = spawnSync(P, [String(ITERATIONS)], { stdio: "ignore" });
  if (done.status !== 0) throw new Error(`workload exited ${done.status}`);
  return ((performance.now() - t0) * 1000) / ITERATIONS;
}

/** Programs attached to uprobes by a process, from `bpftool perf show`. */
function uprobePrograms(pid: number): number[] {
  const out = execFileSync("bpftool", ["perf", "show", "--json"], { encoding: "utf8" });
  const entries = JSON.parse(out) as { pid: number; prog_id: number; fd_type?: string }[];
  return entries
    .filter((e) => e.pid === pid && /uprobe/.test(e.fd_type ?? ""))
    .map((e) => e.prog_id);
}

/** r0 = 0; exit, on every site of the four probes. */
function attachEmpty(): () => void {
  const insns = Uint8Array.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const held: { fd: number; close: () => void }[] = [];
  for (const spelling of SPELLINGS) {
    const planned = planUserProbe(spelling);
    if (!planned.ok) throw new Error(planned.message);
    const user = planned.value.probe.user!;
    for (const site of user.sites) {
      const fd = loadProgram({
        name: "ltsh_bench_nop",
        type: BpfProgType.KPROBE,
        insns,
        license: "GPL",
      });
      const link = attachUprobe(fd, {
        path: user.path,
        fileOffset: site.fileOffset,
        retprobe: user.kind === "uretprobe",
      });
      held.push({ fd, close: () => link.close() });
    }
  }
  return () => {
    for (const h of held) {
      h.close();
      closeFd(h.fd);
    }
  };
}

async function startLtsh(): Promise<() => Promise<void>> {
  const { plan } = compileSource(LTSH, "bench.lt");
  if (plan === null) throw new Error("the bench tracker does not compile");
  const session = LiveSession.open({ options: plan.options, listener: { hit() {}, warning() {} } });
  for (const t of plan.trackers) await session.add(t);
  return async () => {
    await session.close();
  };
}

async function startBpftrace(): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn("bpftrace", ["-e", BPFTRACE], { stdio: "ignore" });
  const unregister = onCleanup(() => child.kill("SIGKILL"));
  for (let i = 0; i < 600 && uprobePrograms(child.pid!).length < 4; i++) {
    if (child.exitCode !== null) throw new Error(`bpftrace exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
      unregister();
    },
  };
}

/** One measurement: loop µs per iteration and the ns per run of the mode's programs, summed. */
async function measure(mode: Mode): Promise<{ loopUs: number; programNs: number }> {
  if (mode === "none") return { loopUs: loopTime(), programNs: 0 };
  let stop: () => void | Promise<void>;
  let owner = process.pid;
  if (mode === "empty") stop = attachEmpty();
  else if (mode === "ltsh") stop = await startLtsh();
  else {
    const started = await startBpftrace();
    owner = started.child.pid!;
    stop = started.stop;
  }
  try {
    const ids = uprobePrograms(owner);
    const before = progStats(ids);
    const loopUs = loopTime();
    const after = progStats(ids);
    let programNs = 0;
    for (const [id, a] of after) {
      const b = before.get(id) ?? { ns: 0, runs: 0 };
      // Per pair of events: each program's mean per run, times how often it ran per iteration.
      if (a.runs > b.runs) programNs += (a.ns - b.ns) / ITERATIONS;
    }
    return { loopUs, programNs };
  } finally {
    await stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await withBpfStats(async () => {
  const results = new Map<Mode, { loopUs: number[]; programNs: number[] }>(
    MODES.map((m) => [m, { loopUs: [], programNs: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated: no mode always runs first or right after another's cleanup.
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
    for (const mode of order) {
      const m = await measure(mode);
      results.get(mode)!.loopUs.push(m.loopUs);
      results.get(mode)!.programNs.push(m.programNs);
    }
  }
  const row = (mode: Mode) => {
    const r = results.get(mode)!;
    return { loop: median(r.loopUs), program: median(r.programNs) };
  };
  process.stdout.write(
    `${ITERATIONS} iterations × ${ROUNDS} rounds (4 probe events per iteration; medians)\n`,
  );
  for (const mode of MODES) {
    const r = row(mode);
    process.stdout.write(
      `${mode.padEnd(9)} loop ${r.loop.toFixed(2)} µs/iteration   programs ${r.program.toFixed(0)} ns/iteration\n`,
    );
  }
  const floor = row("empty");
  const above = (mode: Mode) => ({
    loop: row(mode).loop - floor.loop,
    program: row(mode).program - floor.program,
  });
  const ltsh = above("ltsh");
  const bpftrace = above("bpftrace");
  process.stdout.write(
    `above the empty-program floor: ltsh ${ltsh.program.toFixed(0)} ns, bpftrace ${bpftrace.program.toFixed(0)} ns of program time per iteration (ratio ${(ltsh.program / bpftrace.program).toFixed(2)}); loop ${ltsh.loop.toFixed(2)} vs ${bpftrace.loop.toFixed(2)} µs\n`,
  );
});
