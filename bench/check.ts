// Whole-process wall time of `ltsh check examples/*.lt` (goal: under 300 ms), with
// `node -e 0` and `ltsh --version` as baselines; writes the `## check` section of
// BENCHMARKS.md. Run: node --import tsx bench/check.ts [RUNS]

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { writeBenchmarkSection } from "./benchmarks-md.ts";

const runs = Number(process.argv[2] ?? 15);
const root = new URL("..", import.meta.url).pathname;
const examples = readdirSync(`${root}examples`)
  .filter((f) => f.endsWith(".lt"))
  .map((f) => `examples/${f}`);

function timeRuns(args: string[]): { median: number; min: number; max: number } {
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
    if (i > 0) times.push(ms); // the first run warms tsx's transform cache
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)],
    min: times[0],
    max: times[times.length - 1],
  };
}

const rows: [string, string[]][] = [
  ["node -e 0 (baseline)", ["-e", "0"]],
  ["ltsh --version (startup)", ["bin/ltsh.js", "--version"]],
  [`ltsh check examples/*.lt (${examples.length} files)`, ["bin/ltsh.js", "check", ...examples]],
];
const table = [
  ["command", "median ms", "min ms", "max ms"],
  ...rows.map(([label, args]) => {
    const t = timeRuns(args);
    return [label, t.median.toFixed(0), t.min.toFixed(0), t.max.toFixed(0)];
  }),
];
// Padded like biome formats Markdown tables, so `npm run lint` stays clean.
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
const formatRow = (cells: string[]) =>
  `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
const lines = [
  formatRow(table[0]),
  formatRow(widths.map((w) => "-".repeat(w))),
  ...table.slice(1).map(formatRow),
];
/** Where one `ltsh check` spends its time, measured inside a fresh process (medians). */
function breakdown(): string[] {
  const url = (path: string) => new URL(path, `file://${root}`).href;
  const script = join(mkdtempSync(join(tmpdir(), "ltsh-bench-")), "breakdown.mjs");
  writeFileSync(
    script,
    `const t0 = performance.now();
const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});
register();
const t1 = performance.now();
const { compileFile } = await import(${JSON.stringify(url("src/compiler/compile.ts"))});
const t2 = performance.now();
await import(${JSON.stringify(url("src/commands/index.ts"))});
const t3 = performance.now();
for (const file of ${JSON.stringify(examples.map((e) => root + e))}) compileFile(file);
const t4 = performance.now();
console.log(JSON.stringify([t1 - t0, t2 - t1, t3 - t2, t4 - t3]));
`,
  );
  const samples = Array.from({ length: runs }, () =>
    JSON.parse(execFileSync(process.execPath, [script], { cwd: root }).toString()),
  );
  const median = (i: number) => {
    const values = samples.map((s) => s[i]).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)].toFixed(0);
  };
  return [
    "bin/ltsh.js runs a bundle of the sources (scripts/bundle.mjs, rebuilt when they change).",
    "Run from the TypeScript sources instead (LTSH_NO_BUNDLE=1), the time goes (medians inside",
    `one process): tsx's loader ${median(0)} ms; the front end's modules (Chevrotain, lexer,`,
    `parser) ${median(1)} ms; the other commands' modules ${median(2)} ms; compiling the`,
    `${examples.length} examples ${median(3)} ms. Node itself starts in the baseline's time.`,
  ];
}

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root })
  .toString()
  .trim();
const section = [
  "## check",
  "",
  `Whole-process wall time, ${runs} runs after one warm-up, measured by \`bench/check.ts\` on`,
  `${new Date().toISOString().slice(0, 10)} at ${commit}: Node ${process.versions.node}, Linux ${release()}, ${cpus().length} CPUs (shared;`,
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} at the end). The live tracefs catalog is used.`,
  "Goal: `ltsh check` on every example under 300 ms.",
  "",
  ...lines,
  "",
  ...breakdown(),
  "",
].join("\n");

writeBenchmarkSection(section);
process.stdout.write(`${section}\n`);
