// Regenerates docs/img/*.png, the screenshots of docs/teaching.md: each demo is run in a
// tmux pane (as root, live), captured with its colours before and during its fault (its
// chain tracker selected: the waterfall) and on its worst hit's snapshot (`s`), and the
// capture is drawn by ansilove (Debian: apt-get install ansilove tmux).
//   node --import tsx scripts/screenshots.ts [DEMO...]

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeSnapshot, openWorstSnapshot, selectTracker } from "../test/demo/drive.ts";
import { SOURCES } from "../test/demo/sources.ts";
import { TmuxPane } from "../test/repl/tmux.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = join(ROOT, "docs", "img");
const SIZE = { columns: 120, rows: 34 };
/** The chain tracker whose hits and waterfall the fault's capture shows. */
const TRACKER: Record<string, string> = {
  jack: "jack",
  "memcached-irq": "request",
  "memcached-log": "request",
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hits(screen: string, tracker: string): number {
  const match = new RegExp(`^[▸ ] ${tracker} +\\S+ +\\S+ +\\d+ +(\\d+) `, "m").exec(screen);
  return match ? Number(match[1]) : Number.NaN;
}

/** The pane with its colours, in the code page ansilove draws (CP437), as a PNG. */
function capture(pane: TmuxPane, png: string): void {
  // One column stays one column: the characters CP437 lacks get a one-character stand-in.
  const ansi = execFileSync("tmux", ["capture-pane", "-p", "-e", "-t", pane.name], {
    encoding: "utf8",
  })
    .replaceAll("…", "~")
    .replaceAll("▸", ">")
    .replaceAll("→", ">")
    .replaceAll("←", "<");
  const dir = mkdtempSync(join(tmpdir(), "ltsh-shot-"));
  try {
    const cp437 = spawnSync("iconv", ["-f", "utf-8", "-t", "cp437//TRANSLIT"], { input: ansi });
    const file = join(dir, "screen.ans");
    writeFileSync(file, cp437.stdout.toString("latin1").replace(/\n/g, "\r\n"), "latin1");
    execFileSync("ansilove", ["-q", "-c", String(SIZE.columns), "-o", png, file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`wrote ${png}`);
}

async function shoot(demo: string): Promise<void> {
  // Run from a scratch directory: memcached-log's snapshots land in its snapshots/.
  const workdir = mkdtempSync(join(tmpdir(), "ltsh-shot-run-"));
  const command = `cd ${workdir} && ${process.execPath} ${join(ROOT, "bin/ltsh.js")} demo ${demo}`;
  // 16 colours: what ansilove draws. The sources: see test/demo/sources.ts.
  const pane = new TmuxPane(command, { FORCE_COLOR: "1", ...SOURCES }, SIZE);
  try {
    const tracker = TRACKER[demo];
    await pane.waitFor((s) => s.includes("fault off") && s.includes("ltsh>"), demo, 30_000);
    await sleep(3000);
    capture(pane, join(OUT, `${demo}-off.png`));
    const before = hits(pane.text(), tracker);
    pane.type("f");
    await pane.waitFor((s) => hits(s, tracker) >= before + 4, `hits on ${tracker}`, 20_000);
    await selectTracker(pane, tracker);
    await sleep(2000);
    capture(pane, join(OUT, `${demo}-fault.png`));
    await openWorstSnapshot(pane);
    capture(pane, join(OUT, `${demo}-show.png`));
    await closeSnapshot(pane);
    pane.type("f");
    pane.type(":quit", true);
    await pane.waitFor((s) => s.includes("LTSH-EXIT="), "the demo's exit", 30_000);
  } finally {
    pane.kill();
    rmSync(workdir, { recursive: true, force: true });
  }
}

const demos = process.argv.slice(2);
for (const demo of demos.length > 0 ? demos : Object.keys(TRACKER)) await shoot(demo);
