// Per-event cost of the kmod path, in the guest of the VM harness: a static pipe ping-pong
// (scripts/vm/guest/ltwork.c) untraced and with the syscall and wakeup example modules
// loaded, alternating. Writes the `## kmod` section of BENCHMARKS.md.
// Run: node --import tsx bench/kmod.ts [ROUNDS_PER_RUN] [RUNS] [--baseline DIR] [--icount-runs N]
// Under TCG a second boot runs the same script N times (default 6, 0: none) with guest time
// counted in guest instructions (-icount), which the host's load cannot disturb.
// --baseline: another checkout (an earlier landing, with its own node_modules) builds the same
// examples with its own generator and runtime (bench/kmod-peer.ts); its modules are loaded in
// the same guest boot, alternating with this checkout's, so a change between landings is a
// ratio taken within one run, not two dates. An example whose text changed since the peer
// (a clause added) is measured a second time as the same work: the peer's text built by this
// checkout, against the peer's module (configuration `EXAMPLE@peer`).

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildGuestPrograms,
  buildInitramfs,
  findGuestKernel,
  type GuestKernel,
} from "../scripts/vm/initramfs.ts";
import { bootVm, qemuBinary } from "../scripts/vm/qemu.ts";
import { parseStatsLine } from "../src/session/kmod-decode.ts";
import { buildModules } from "../test/vm/build.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import { buildPeerModule, changedPeerExample, peerCommit } from "./kmod-peer.ts";
import { type Boot, type Measured, type Side, section } from "./kmod-report.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const cli = process.argv.slice(2);
const baselineAt = cli.indexOf("--baseline");
const baselineDir = baselineAt >= 0 ? resolve(cli.splice(baselineAt, 2)[1]) : null;
const icountAt = cli.indexOf("--icount-runs");
const icountRuns = icountAt >= 0 ? Number(cli.splice(icountAt, 2)[1]) : 6;
const rounds = Number(cli[0] ?? 10000);
const runs = Number(cli[1] ?? 10);
const EXAMPLES = ["syscall", "wakeup"] as const;

/**
 * One module to insert: `file` under /lib/ltsh in the guest, `name` its name in the kernel,
 * `config` the row it is measured for (the example, or `EXAMPLE@peer`: the peer's text).
 */
interface Loaded {
  side: Side;
  config: string;
  example: (typeof EXAMPLES)[number];
  name: string;
  file: string;
}

/**
 * Per run: the untraced ping-pong, then each module inserted for one ping-pong, this
 * checkout's and the peer's side by side, which goes first swapping from run to run.
 */
function guestScript(modules: Loaded[], runs: number): string {
  const lines: string[] = [];
  for (let run = 0; run < runs; run++) {
    lines.push(`echo "@@bench base this ${run}"`, `ltwork pipe ${rounds}`);
    for (const config of new Set(modules.map((m) => m.config))) {
      const pair = modules.filter((m) => m.config === config);
      for (const m of run % 2 === 0 ? pair : pair.reverse()) {
        lines.push(
          // Thresholds out of reach: this measures the events, not the cost of hits.
          `insmod /lib/ltsh/${m.file} ${m.example}_threshold_ns=100000000000`,
          `echo "@@bench ${config} ${m.side} ${run}"`,
          `ltwork pipe ${rounds}`,
          `sed 's/^/@@stats /' /proc/ltsh_${m.name}/stats`,
          `rmmod ${m.name}`,
        );
      }
    }
  }
  return lines.join("\n");
}

/** The guest's console → ns per round trip by configuration, side and run. */
function parseConsole(console: string): Measured {
  const measured: Measured = { ns: {}, syscallEventsPerRound: { this: [], peer: [] } };
  let current: { config: string; side: Side; run: number } | null = null;
  for (const line of console.split("\n")) {
    const mark = /^@@bench (\S+) (this|peer) (\d+)/.exec(line);
    if (mark) current = { config: mark[1], side: mark[2] as Side, run: Number(mark[3]) };
    const pipe = /^pipe rounds=\d+ ns_per_round=(\d+)/.exec(line);
    if (pipe && current) {
      measured.ns[current.config] ??= { this: [], peer: [] };
      measured.ns[current.config][current.side][current.run] = Number(pipe[1]);
    }
    if (line.startsWith("@@stats ") && current?.config === "syscall") {
      const pairs = Number(parseStatsLine(line.slice(8)).pairs);
      measured.syscallEventsPerRound[current.side].push((2 * pairs) / rounds);
    }
  }
  return measured;
}

/**
 * This checkout's module of the peer's text of `example`, when it differs from ours (null
 * when it does not): the same work on both sides. Its .ko is named same_NAME.ko.
 */
async function buildPeerText(
  peerDir: string,
  example: string,
  outRoot: string,
  headers: string,
): Promise<{ name: string; ko: string; file: string } | null> {
  const theirs = changedPeerExample(peerDir, ROOT, example);
  if (theirs === null) return null;
  mkdirSync(outRoot, { recursive: true });
  const text = join(outRoot, `${example}.lt`);
  writeFileSync(text, theirs);
  const { built, failed } = await buildModules([text], join(outRoot, "m"), headers);
  if (failed.length > 0) throw new Error(failed.map((f) => f.reason).join("\n"));
  const file = `same_${built[0].name}.ko`;
  const ko = join(outRoot, file);
  copyFileSync(built[0].ko, ko);
  return { name: built[0].name, ko, file };
}

/** What every boot of the bench gets: the kernel, the modules and the guest programs. */
interface Guest {
  kernel: GuestKernel;
  /** The .ko files to put under /lib/ltsh. */
  files: string[];
  modules: Loaded[];
  programs: Record<string, string>;
}

/** One boot running the script `runs` times; `icountShift`: guest time in instructions. */
async function measure(
  g: Guest,
  runs: number,
  icountShift?: number,
): Promise<Boot & { accel: string }> {
  const initrd = buildInitramfs({
    kernel: g.kernel,
    modules: g.files,
    programs: g.programs,
    script: guestScript(g.modules, runs),
  });
  const loadBefore = loadavg()[0];
  const boot = await bootVm({
    vmlinuz: g.kernel.vmlinuz,
    initrd,
    timeoutMs: 1_800_000,
    icountShift,
  });
  if (!boot.completed) throw new Error(`guest did not finish:\n${boot.console.slice(-2000)}`);
  return {
    measured: parseConsole(boot.console),
    runs,
    load: [loadBefore, loadavg()[0]],
    minutes: boot.elapsedMs / 60_000,
    accel: boot.accel,
  };
}

async function main(): Promise<number> {
  const kernel = findGuestKernel();
  if (!qemuBinary() || typeof kernel === "string") {
    process.stderr.write(
      `bench/kmod: cannot run: ${typeof kernel === "string" ? kernel : "no qemu"}\n`,
    );
    return 1;
  }
  const work = mkdtempSync(join(tmpdir(), "ltsh-bench-kmod-"));
  try {
    const examples = EXAMPLES.map((e) => join(ROOT, "examples", `${e}.lt`));
    const { built, failed } = await buildModules(examples, join(work, "m"), kernel.headers);
    if (failed.length > 0) throw new Error(failed.map((f) => f.reason).join("\n"));
    const modules: Loaded[] = [];
    const files: string[] = [];
    for (const example of EXAMPLES) {
      const ours = built.find((b) => b.example.endsWith(`/${example}.lt`))!;
      const config = example;
      modules.push({ side: "this", config, example, name: ours.name, file: `${ours.name}.ko` });
      files.push(ours.ko);
      if (!baselineDir) continue;
      const peer = await buildPeerModule(
        baselineDir,
        `${example}.lt`,
        join(work, "peer"),
        kernel.headers,
      );
      const peerFile = `peer_${peer.name}.ko`;
      modules.push({ side: "peer", config, example, name: peer.name, file: peerFile });
      files.push(peer.ko);
      const same = await buildPeerText(baselineDir, example, join(work, "same"), kernel.headers);
      if (!same) continue;
      files.push(same.ko);
      const sameConfig = `${example}@peer`;
      modules.push({ side: "this", config: sameConfig, example, name: same.name, file: same.file });
      modules.push({ side: "peer", config: sameConfig, example, name: peer.name, file: peerFile });
    }
    const programs = buildGuestPrograms(join(work, "guest"));
    const guest: Guest = { kernel, files, modules, programs };
    const clock = await measure(guest, runs);
    const counted =
      clock.accel === "tcg" && icountRuns > 0 ? await measure(guest, icountRuns, 0) : null;
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    const text = section({
      accel: clock.accel,
      release: kernel.release,
      commit,
      peer: baselineDir ? peerCommit(baselineDir) : null,
      rounds,
      host: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} CPUs`,
      clock,
      counted,
    });
    process.stdout.write(`${text}\nraw: ${JSON.stringify({ clock, counted })}\n`);
    writeBenchmarkSection(text);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
