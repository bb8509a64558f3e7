// What metrics cost: (1) the programs' time per event (bpf_stats) under `perf bench sched
// pipe`, without and with a scrape every second: a scrape reads maps and adds nothing per
// event; (2) the wall time of one scrape of `ltsh serve` running 50 trackers (goal: under
// 20 ms); (3) start-up of dist/ltsh against bin/ltsh.js. Writes the `## metrics` section
// of BENCHMARKS.md. Run as root: node --import tsx bench/metrics.ts [ROUNDS]

import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildExe, EXE } from "../scripts/build-exe.mjs";
import { type LtshChild, startLtsh } from "../test/metrics/child.ts";
import { writeBenchmarkSection } from "./benchmarks-md.ts";
import { machineInfo, withBpfStats } from "./live-measure.ts";

const rounds = Number(process.argv[2] ?? 3);
const root = new URL("..", import.meta.url).pathname;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

/** The BPF programs a process holds: id → (run_time_ns, run_cnt) as bpf_stats counts them. */
function programStats(pid: number): Map<number, { ns: number; runs: number }> {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (m) ids.add(Number(m[1]));
    } catch {}
  }
  const all = JSON.parse(execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" }));
  return new Map(
    all
      .filter((p: { id: number }) => ids.has(p.id))
      .map((p: { id: number; run_time_ns?: number; run_cnt?: number }) => [
        p.id,
        { ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 },
      ]),
  );
}

/** Mean ns per program run over all of a process's programs, between two readings. */
function nsPerRun(before: ReturnType<typeof programStats>, after: ReturnType<typeof programStats>) {
  let ns = 0;
  let runs = 0;
  for (const [id, a] of after) {
    const b = before.get(id) ?? { ns: 0, runs: 0 };
    ns += a.ns - b.ns;
    runs += a.runs - b.runs;
  }
  return { perRun: ns / runs, runs };
}

async function serve(file: string): Promise<{ ltsh: LtshChild; url: string }> {
  const ltsh = startLtsh(["serve", file, "--metrics", "127.0.0.1:0"]);
  return { ltsh, url: await ltsh.metricsUrl() };
}

/** perf bench sched pipe pinned to the last CPU, run asynchronously so scrapes go on. */
async function perfBench(loops: number): Promise<void> {
  const cpu = String(cpus().length - 1);
  await run("taskset", ["-c", cpu, "perf", "bench", "sched", "pipe", "-l", String(loops)]);
}

async function scrapeCost(): Promise<string[]> {
  const { ltsh, url } = await serve(`${root}examples/wakeup.lt`);
  const rows: { without: number; withScrapes: number }[] = [];
  let scrapes = 0;
  try {
    await withBpfStats(async () => {
      for (let i = 0; i < rounds; i++) {
        const measure = async (scrapeEverySecond: boolean) => {
          const before = programStats(ltsh.child.pid!);
          const timer = scrapeEverySecond
            ? setInterval(
                () =>
                  void fetch(url)
                    .then((r) => r.text())
                    .then(() => scrapes++),
                1000,
              )
            : undefined;
          await perfBench(300_000);
          clearInterval(timer);
          return nsPerRun(before, programStats(ltsh.child.pid!)).perRun;
        };
        rows.push({ without: await measure(false), withScrapes: await measure(true) });
      }
    });
  } finally {
    await ltsh.kill();
  }
  const table = [
    "| round | ns per program run, no scrape | ns per program run, a scrape every second |",
    "| ----- | ----------------------------- | ----------------------------------------- |",
    ...rows.map(
      (r, i) =>
        `| ${String(i + 1).padEnd(5)} | ${r.without.toFixed(0).padEnd(29)} | ${r.withScrapes.toFixed(0).padEnd(41)} |`,
    ),
  ];
  const without = median(rows.map((r) => r.without));
  const withScrapes = median(rows.map((r) => r.withScrapes));
  return [
    "### A scrape adds no per-event cost",
    "",
    "`ltsh serve examples/wakeup.lt` under `perf bench sched pipe -l 300000` (pinned to one",
    "CPU), the kernel timing each run of its two programs (`kernel.bpf_stats_enabled`),",
    `alternately without and with a scrape of /metrics every second (${scrapes} scrapes in all).`,
    "",
    ...table,
    "",
    `Medians: ${without.toFixed(0)} ns without, ${withScrapes.toFixed(0)} ns with scrapes; compare`,
    "with the spread between rounds. A scrape is one lookup of each tracker's per-CPU",
    "counters from user space plus, once a second at most, a count of its pending begins;",
    "the programs run the same code with or without it.",
  ];
}

const SCRAPES = 30;

/** utime + stime of a process so far, in ms (/proc/PID/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A Markdown row of figures in ms, each padded to its header's width. */
function tableRow(values: number[]): string {
  const widths = [9, 6, 6, 22];
  return `| ${values.map((v, i) => v.toFixed(1).padEnd(widths[i])).join(" | ")} |`;
}

async function scrapeOf50(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-bench-metrics-"));
  const file = join(dir, "fifty.lt");
  const trackers = Array.from(
    { length: 50 },
    // No threshold: no hits to deliver, so the process's CPU time is the scrapes'.
    (_, i) => `track t${i}: sched_wakeup(args.pid) -> sched_switch(next_pid)`,
  );
  writeFileSync(file, `${trackers.join("\n")}\n`);
  const { ltsh, url } = await serve(file);
  const times: number[] = [];
  let bytes = 0;
  let idleCpu = 0;
  let busyCpu = 0;
  let parts: string[] = [];
  try {
    await sleep(1000);
    const pid = ltsh.child.pid!;
    const idleStart = cpuMs(pid);
    await sleep(SCRAPES * 1100);
    idleCpu = cpuMs(pid) - idleStart;
    const busyStart = cpuMs(pid);
    // 1.1 s apart: each scrape then recounts every tracker's pending begins (the live session
    // caches that count for a second), as scrapes at Prometheus' usual 15 s interval do.
    for (let i = 0; i < SCRAPES + 1; i++) {
      const start = performance.now();
      bytes = (await (await fetch(url)).text()).length;
      if (i > 0) times.push(performance.now() - start); // the first warms the code paths
      await sleep(1100);
    }
    busyCpu = cpuMs(pid) - busyStart;
    await ltsh.kill();
    parts = await scrapeParts(file);
  } finally {
    await ltsh.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    "### One scrape of 50 trackers",
    "",
    `\`ltsh serve\` with 50 live trackers (all on sched_wakeup → sched_switch), ${SCRAPES} scrapes`,
    "1.1 s apart (pending begins are recounted in the background, not by the scrape), wall time from",
    `request to the last byte (${(bytes / 1024).toFixed(0)} KiB each).`,
    "Goal: under 20 ms.",
    "",
    "| median ms | p90 ms | max ms | ltsh CPU ms per scrape |",
    "| --------- | ------ | ------ | ---------------------- |",
    tableRow([
      median(times),
      quantile(times, 0.9),
      Math.max(...times),
      (busyCpu - idleCpu) / SCRAPES,
    ]),
    "",
    "CPU per scrape: the ltsh process's user + system time over the scrapes, less its time over",
    "an equally long stretch without scrapes, divided by the scrapes (from /proc/PID/stat, in",
    "10 ms ticks): what a scrape costs, whatever else the machine is doing.",
    ...parts,
  ];
}

/** Both commands run alternately (so both see the same machine load), 20 times each after a warm-up. */
function startup(): string[] {
  if (!existsSync(EXE)) throw new Error("dist/ltsh is missing");
  const examples = readdirSync(`${root}examples`)
    .filter((f) => f.endsWith(".lt"))
    .map((f) => `examples/${f}`);
  const once = (command: string, args: string[]) => {
    const start = performance.now();
    const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
    return performance.now() - start;
  };
  const row = (label: string, args: string[]) => {
    const js: number[] = [];
    const exe: number[] = [];
    for (let i = 0; i < 21; i++) {
      const a = once(process.execPath, ["bin/ltsh.js", ...args]);
      const b = once(EXE, args);
      if (i === 0) continue; // the warm-up
      js.push(a);
      exe.push(b);
    }
    const cell = (t: number[]) => `${median(t).toFixed(0)} (${Math.min(...t).toFixed(0)})`;
    return `| ${label.padEnd(34)} | ${cell(js).padEnd(20)} | ${cell(exe).padEnd(20)} |`;
  };
  return [
    "### Start-up: dist/ltsh against bin/ltsh.js",
    "",
    "Whole-process wall time in ms, median (and minimum) of 20 runs, the two alternating, after a",
    "warm-up (dist/ltsh has unpacked its files, bin/ltsh.js's bundle is built).",
    "",
    "| command                            | bin/ltsh.js ms       | dist/ltsh ms         |",
    "| ---------------------------------- | -------------------- | -------------------- |",
    row("ltsh --version", ["--version"]),
    row(`ltsh check examples/*.lt (${examples.length} files)`, ["check", ...examples]),
  ];
}

/** In this process: a live session's stats() and the text, timed apart, for the same 50 trackers. */
async function scrapeParts(file: string): Promise<string[]> {
  const { loadCatalog } = await import("../src/compiler/catalog/index.ts");
  const { compileFile } = await import("../src/compiler/compile.ts");
  const { openSession } = await import("../src/session/backends.ts");
  const { renderMetrics } = await import("../src/metrics/exposition.ts");
  const { plan } = compileFile(file, { catalog: loadCatalog() });
  const listener = { hit() {}, warning() {} };
  const session = await openSession("ebpf", { listener, options: plan!.options });
  const stats: number[] = [];
  const render: number[] = [];
  try {
    for (const tracker of plan!.trackers) await session.add(tracker);
    for (let i = 0; i < 11; i++) {
      await sleep(1100);
      const t0 = performance.now();
      const summaries = session.stats().map((s) => s.summary);
      const t1 = performance.now();
      renderMetrics(summaries, { version: "0" });
      if (i > 0) stats.push(t1 - t0);
      if (i > 0) render.push(performance.now() - t1);
    }
  } finally {
    await session.close();
  }
  return [
    `Inside one process, median of 10: \`session.stats()\` ${median(stats).toFixed(1)} ms (each tracker's`,
    "counters read; the pending counts come from the background recount, not the poll),",
    `the text ${median(render).toFixed(1)} ms.`,
  ];
}

const built = await buildExe();
const sizeLine = `dist/ltsh: ${(built.bytes / 2 ** 20).toFixed(1)} MiB.`;
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root })
  .toString()
  .trim();
const section = [
  "## metrics",
  "",
  `Measured by \`bench/metrics.ts\` on ${new Date().toISOString().slice(0, 10)} at ${commit}.`,
  ...machineInfo()
    .slice(0, 2)
    .map((l) => `${l}.`),
  "",
  ...(await scrapeCost()),
  "",
  ...(await scrapeOf50()),
  "",
  ...startup(),
  "",
  sizeLine,
  "",
].join("\n");
writeBenchmarkSection(section);
process.stdout.write(`${section}\n`);
