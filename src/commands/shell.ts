// `ltsh` with no subcommand: the interactive shell, live (eBPF) by default, on a recorded
// trace with --replay, with a file's trackers running when FILE.lt is given.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BACKEND_FLAGS, chooseBackend } from "./backend-flags.ts";
import { loadCatalogOrReport } from "./check.ts";
import { type Command, parseCommandArgs, UsageError, VERSION } from "./usage.ts";

/** Recorded on a real kernel by examples/traces/record.sh; replayed by `npm start` without root. */
export const DEMO_TRACE = fileURLToPath(
  new URL("../../examples/traces/demo.txt.gz", import.meta.url),
);
export const DEMO_FILE = fileURLToPath(new URL("../../examples/wakeup.lt", import.meta.url));

export const shellCommand: Command = {
  name: "shell",
  help: `Usage: ltsh [FILE.lt] [--replay TRACE [--speed S] [--format F] [--strict]] [--target ebpf|kmod]
            [--catalog FILE]
       ltsh --demo

Opens the interactive shell. Type a tracker at the prompt and press Enter:
it is checked as you enter it (errors point at the culprit, the line stays for
fixing) and starts at once. Above the prompt: the hits as they come, a table of
the trackers (pairs, hits, timeouts, dropped, p50/p99/max), the selected
tracker's histogram and a status line. :help lists the commands (:list, :stop,
:start, :rm, :load, :save, :emit, :hist, :show, :metrics, :clear, :quit). Tab
completes commands, probe names and fields; up/down browse the history, kept in
$XDG_STATE_HOME/ltsh/history (default ~/.local/state/ltsh/history).

Options:
  FILE.lt          start the shell with this file's trackers running
  --replay TRACE   run trackers on a recorded trace instead of the live kernel;
                   each tracker added sees the whole trace
  --speed S        replay pace: 1 = trace time, 10 = ten times faster,
                   max = as fast as possible (default)
  --format F       the trace's format: ftrace, perf or babeltrace (default: detected)
  --strict         malformed trace lines are fatal (default: counted, skipped)
  --target T       live backend: ebpf (default) or kmod
  --catalog FILE   tracepoint catalog (see 'ltsh check --help')
  --demo           the examples: live when permitted, else a bundled recorded trace
                   (what 'npm start' runs)
  -h, --help       show this help

The shell needs a terminal; in scripts use 'ltsh run FILE.lt [--replay TRACE]'.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      ...BACKEND_FLAGS,
      catalog: { type: "string" },
      demo: { type: "boolean" },
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    const file = validateFile(positionals);
    const { backend, replay } = chooseBackend(values);
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write(
        "ltsh: error: the shell needs a terminal (stdin and stdout are not both a TTY); " +
          "to run trackers from a script use: ltsh run FILE.lt [--replay TRACE]\n",
      );
      return 1;
    }
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const { runShell } = await import("../repl/run-shell.tsx");
    if (values.demo) return runShell({ catalog, version: VERSION, ...(await demoSetup(file)) });
    if (replay && replay.path !== "-" && !existsSync(replay.path)) {
      process.stderr.write(`ltsh: error: cannot read ${replay.path}: no such file\n`);
      return 1;
    }
    if (replay?.path === "-")
      throw new UsageError("the shell reads keys from stdin: --replay needs a file");
    return runShell({ backend, catalog, file, replay, version: VERSION });
  },
};

function validateFile(positionals: string[]): string | undefined {
  if (positionals.length > 1)
    throw new UsageError(`expected at most one FILE.lt, got ${positionals.length}`);
  const [file] = positionals;
  if (file !== undefined && !file.endsWith(".lt") && !existsSync(file)) {
    throw new UsageError(`'${file}' is neither a command nor a .lt file (see ltsh --help)`);
  }
  return file;
}

/** `npm start`: the examples, live where permitted, else the bundled trace at trace speed. */
async function demoSetup(file: string | undefined) {
  // Loaded here: the kernel interface (koffi) is not needed by the other commands' start.
  const { checkLivePermissions } = await import("../kernel/permissions.ts");
  const permitted = checkLivePermissions();
  const trackers = file ?? DEMO_FILE;
  if (permitted.ok) {
    return {
      backend: "ebpf" as const,
      file: trackers,
      banner: ["demo: live tracing on this kernel"],
    };
  }
  return {
    backend: "replay" as const,
    file: trackers,
    replay: { path: DEMO_TRACE, speed: 1 },
    banner: [
      `demo: replaying a recorded trace (live tracing is not permitted: ${permitted.message})`,
    ],
  };
}
