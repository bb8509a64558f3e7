// A first run of ltsh in several checkouts side by side (the start-up figures of BENCHMARKS.md
// against a peer): runs alternated, each timed from spawn to exit (wall) and by `perf stat`
// task-clock (CPU), medians with quartiles, and each checkout's per-pair ratios to the first
// (their median, with its 95% confidence interval).
// Every checkout needs a node_modules of its own: the start-up bundle is built beside it.
// Run: node --import tsx bench/first-run.ts [--runs N] [--file F.lt] [--args "run --no-cache
//      --for 1ms"] CHECKOUT...    (default: 25 runs of the first checkout's examples/wakeup.lt)

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals: checkouts } = parseArgs({
  options: {
    runs: { type: "string", default: "25" },
    file: { type: "string" },
    args: { type: "string", default: "run --no-cache --for 1ms" },
  },
  allowPositionals: true,
});
if (checkouts.length === 0) throw new Error("name at least one checkout");
const file = values.file ?? join(checkouts[0], "examples/wakeup.lt");
const command = [...values.args.split(" "), file];
const perfOut = join(mkdtempSync(join(tmpdir(), "ltsh-first-run-")), "perf.txt");
// The bundle is used as shipped, whatever the caller's shell says.
const env = { ...process.env, LTSH_NO_BUNDLE: "" };

/** One run: wall ms from spawn to exit, CPU ms (task-clock of the process and its threads). */
function timeRun(checkout: string): { wall: number; cpu: number } {
  rmSync(perfOut, { force: true });
  const ltsh = [process.execPath, join(checkout, "bin/ltsh.js"), ...command];
  const start = process.hrtime.bigint();
  const result = spawnSync(
    "perf",
    ["stat", "-x,", "-e", "task-clock", "-o", perfOut, "--", ...ltsh],
    {
      env,
      encoding: "utf8",
    },
  );
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${checkout}: ${result.stderr}`);
  const line = readFileSync(perfOut, "utf8")
    .split("\n")
    .find((l) => l.includes("task-clock"));
  if (!line) throw new Error(`perf stat printed no task-clock: ${readFileSync(perfOut, "utf8")}`);
  return { wall, cpu: Number(line.split(",")[0]) };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.round(q * (sorted.length - 1))];
}

const spread = (v: number[], digits: number) =>
  `${quantile(v, 0.5).toFixed(digits)} [${quantile(v, 0.25).toFixed(digits)}–${quantile(v, 0.75).toFixed(digits)}]`;

/** The median with its 95% confidence interval (order statistics n/2 ± 0.98√n). */
function medianInterval(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const half = 0.98 * Math.sqrt(n);
  const low = sorted[Math.max(0, Math.floor(n / 2 - half))];
  const high = sorted[Math.min(n - 1, Math.ceil(n / 2 + half))];
  return `${quantile(values, 0.5).toFixed(3)} (95% CI ${low.toFixed(3)}–${high.toFixed(3)})`;
}

const loadBefore = loadavg()[0];
for (const checkout of checkouts) timeRun(checkout); // builds bundles, fills compile caches
const times = checkouts.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
for (let i = 0; i < Number(values.runs); i++) {
  checkouts.forEach((checkout, k) => {
    const { wall, cpu } = timeRun(checkout);
    times[k].wall.push(wall);
    times[k].cpu.push(cpu);
  });
}
console.log(`ltsh ${command.join(" ")}: ${values.runs} alternated runs, medians [quartiles]`);
console.log(`load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
checkouts.forEach((checkout, k) => {
  const ratio = (m: "wall" | "cpu") => times[k][m].map((v, i) => v / times[0][m][i]);
  const ratios =
    k === 0
      ? ""
      : `; per pair / first: wall ${medianInterval(ratio("wall"))}, CPU ${medianInterval(ratio("cpu"))}`;
  console.log(
    `${checkout}: wall ${spread(times[k].wall, 0)} ms, CPU ${spread(times[k].cpu, 0)} ms${ratios}`,
  );
});
