// The shell's :commands, one table entry each: its arguments, one line of help, and what
// it does to the controller. :help is generated from the table.

import { findTarget, targets } from "../compiler/targets.ts";
import { parseShellAddress } from "../metrics/address.ts";
import type { Outcome, ShellController } from "./controller.ts";
import { withName } from "./statements.ts";
import { loadTimeline } from "./timeline-model.ts";

interface ShellCommand {
  name: string;
  args: string;
  help: string;
  /** Number of arguments it takes (min, max). */
  arity: [number, number];
  run(shell: ShellController, args: string[]): Promise<Outcome> | Outcome;
}

const ok = (output: string[], extra: Partial<Extract<Outcome, { ok: true }>> = {}): Outcome => ({
  ok: true,
  output,
  ...extra,
});
const fail = (message: string): Outcome => ({ ok: false, error: `error: ${message}` });

export const SHELL_COMMANDS: ShellCommand[] = [
  { name: ":help", args: "", help: "this list", arity: [0, 0], run: () => ok(helpText()) },
  {
    name: ":list",
    args: "",
    help: "the trackers, running or stopped, with their source",
    arity: [0, 0],
    run: list,
  },
  {
    name: ":stop",
    args: "NAME",
    help: "stop a tracker (its counters stay)",
    arity: [1, 1],
    run: stop,
  },
  {
    name: ":start",
    args: "NAME",
    help: "start a stopped tracker again (counters restart)",
    arity: [1, 1],
    run: start,
  },
  { name: ":rm", args: "NAME", help: "stop and forget a tracker", arity: [1, 1], run: remove },
  {
    name: ":load",
    args: "FILE.lt",
    help: "check a file and start its trackers",
    arity: [1, 1],
    run: load,
  },
  {
    name: ":save",
    args: "FILE.lt",
    help: "write the trackers and options as a .lt file",
    arity: [1, 1],
    run: save,
  },
  {
    name: ":emit",
    args: "NAME ebpf|kmod|plan",
    help: "show what a tracker compiles to",
    arity: [2, 2],
    run: emit,
  },
  { name: ":hist", args: "NAME", help: "draw this tracker's histogram", arity: [1, 1], run: hist },
  {
    name: ":show",
    args: "[NAME [worst]]",
    help: "the newest (worst: the slowest) kept hit's snapshot as a timeline; [ ] older/newer",
    arity: [0, 2],
    run: show,
  },
  {
    name: ":metrics",
    args: "[HOST:]PORT|off",
    help: "serve GET /metrics (Prometheus) from these trackers; off stops; alone: where",
    arity: [0, 1],
    run: metrics,
  },
  {
    name: ":clear",
    args: "",
    help: "clear the screen",
    arity: [0, 0],
    run: () => ok([], { clearScreen: true }),
  },
  {
    name: ":quit",
    args: "",
    help: "stop everything and leave (also Ctrl-D, Ctrl-C twice)",
    arity: [0, 0],
    run: () => ok([], { quit: true }),
  },
];

export const COMMAND_NAMES = SHELL_COMMANDS.map((c) => c.name);
export const EMIT_TARGETS = ["ebpf", "kmod", "plan"];

export function helpText(): string[] {
  const usage = SHELL_COMMANDS.map((c) => `${c.name}${c.args ? ` ${c.args}` : ""}`);
  const width = Math.max(...usage.map((u) => u.length));
  return [
    "Type a tracker and press Enter to start it, e.g.",
    "  track wakeup: sched_wakeup(pid) -> sched_switch(next_pid) > 200us",
    "or an option: set NAME = VALUE. A tracker pasted from a file (several lines) works too.",
    "Tab completes; up/down browse the history; PageUp/PageDown pick the histogram shown;",
    "shift+up/down (or alt) pick a hit of the feed, Enter opens its snapshot; Ctrl-C clears the line.",
    ...SHELL_COMMANDS.map((c, i) => `  ${usage[i].padEnd(width)}  ${c.help}`),
  ];
}

export async function runCommand(shell: ShellController, line: string): Promise<Outcome> {
  const [name, ...args] = line.split(/\s+/);
  const command = SHELL_COMMANDS.find((c) => c.name === name);
  if (!command) return fail(`unknown command ${name} (:help lists them)`);
  const [min, max] = command.arity;
  if (args.length < min || args.length > max) {
    return fail(`usage: ${command.name}${command.args ? ` ${command.args}` : ""}`);
  }
  try {
    return await command.run(shell, args);
  } catch (error) {
    return fail((error as Error).message);
  }
}

function known(shell: ShellController, name: string): string | null {
  if (shell.statements.tracker(name)) return null;
  const names = shell.statements.trackers().map((t) => t.name);
  return names.length > 0
    ? `no tracker named ${name} (trackers: ${names.join(", ")})`
    : `no tracker named ${name}`;
}

function list(shell: ShellController): Outcome {
  const trackers = shell.statements.trackers();
  if (trackers.length === 0) return ok(["no trackers"]);
  const rows = new Map(shell.rows(shell.currentSession()?.stats() ?? []).map((r) => [r.name, r]));
  return ok(
    trackers.map((t) => {
      const row = rows.get(t.name);
      const counts = row ? `, ${row.summary.pairs} pairs, ${row.summary.hits} hits` : "";
      return `${t.name} (${row?.state ?? "not started"}${counts}): ${t.source.replace(/\s+/g, " ").trim()}`;
    }),
  );
}

async function stop(shell: ShellController, [name]: string[]): Promise<Outcome> {
  const problem = known(shell, name);
  if (problem) return fail(problem);
  await shell.currentSession()?.stop(name);
  shell.stopped.add(name);
  shell.poll();
  return ok([`stopped ${name}`]);
}

async function start(shell: ShellController, [name]: string[]): Promise<Outcome> {
  const plan = shell.statements.tracker(name);
  if (!plan) return fail(known(shell, name) ?? name);
  const session = await shell.open();
  const running = session.stats().find((s) => s.tracker === name)?.running;
  if (running) return fail(`${name} is already running`);
  // A stopped tracker's programs are gone (in replay: its pass went on without it): start it
  // afresh, over the whole trace in replay.
  if (running === false) await session.remove(name);
  await session.add(plan);
  shell.stopped.delete(name);
  shell.poll();
  return ok([`started ${name}`], { select: name });
}

async function remove(shell: ShellController, [name]: string[]): Promise<Outcome> {
  const problem = known(shell, name);
  if (problem) return fail(problem);
  await shell.currentSession()?.remove(name);
  shell.statements.remove(name);
  shell.removed.add(name);
  shell.poll();
  return ok([`removed ${name}`]);
}

async function load(shell: ShellController, [file]: string[]): Promise<Outcome> {
  let text: string;
  try {
    text = shell.io.readFile(file);
  } catch (error) {
    return fail(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const result = shell.frontEnd.checkFile(text, file, shell.statements.names());
  if (!result.ok) return { ok: false, error: result.errors };
  const clashes = result.trackers
    .filter((t) => shell.statements.tracker(t.name))
    .map((t) => t.name);
  if (clashes.length > 0) {
    return fail(
      `${file}: the shell already has ${clashes.join(", ")} (:rm it first, or rename it in the file)`,
    );
  }
  const outcome = await shell.addStatements(result);
  if (!outcome.ok) return outcome;
  return ok([`loaded ${file}: ${result.trackers.length} trackers`, ...outcome.output], {
    select: outcome.select,
  });
}

function save(shell: ShellController, [file]: string[]): Outcome {
  if (shell.statements.entries.length === 0)
    return fail("nothing to save: no trackers or options yet");
  const header = `# Saved by the ltsh shell (${shell.backend}). Run: ltsh run ${file}`;
  // What we write must check clean, or the user would find out only when loading it; the
  // sources as typed are the fallback should the tidy layout ever not check.
  let text = shell.statements.saved(header);
  if (!shell.frontEnd.checkFile(text, file, []).ok) text = shell.statements.saved(header, false);
  const check = shell.frontEnd.checkFile(text, file, []);
  if (!check.ok) return fail(`not saved, the generated file does not check:\n${check.errors}`);
  shell.io.writeFile(file, text);
  return ok([`saved ${shell.statements.trackers().length} trackers to ${file}`]);
}

async function emit(shell: ShellController, [name, target]: string[]): Promise<Outcome> {
  const plan = shell.statements.tracker(name);
  if (!plan) return fail(known(shell, name) ?? name);
  if (target === "plan") return ok(JSON.stringify(plan, null, 2).split("\n"));
  if (!EMIT_TARGETS.includes(target)) return fail(`unknown target ${target} (ebpf, kmod or plan)`);
  const found = findTarget(target);
  if (!found) {
    const available = ["plan", ...targets.map((t) => t.name)].join(", ");
    return fail(`the ${target} target is not available in this build (available: ${available})`);
  }
  const source = withName(plan.source.trim(), plan.name);
  const result = await found.emit(
    // Named after the tracker: the kmod target derives the module name from the file.
    { file: `${plan.name}.lt`, trackers: [plan], options: shell.options },
    {},
  );
  return ok([`# ${source.replace(/\s+/g, " ")}`, ...result.text.replace(/\n$/, "").split("\n")]);
}

function hist(shell: ShellController, [name]: string[]): Outcome {
  const problem = known(shell, name);
  if (problem) return fail(problem);
  return ok([`showing ${name}'s histogram`], { select: name });
}

/** Opens the newest (or with `worst` the slowest) kept hit with a snapshot in the timeline view. */
async function show(shell: ShellController, [name, which]: string[]): Promise<Outcome> {
  if (which !== undefined && which !== "worst") {
    return fail(`:show ${name} ${which}: the second word can only be worst`);
  }
  if (name !== undefined) {
    const problem = known(shell, name);
    if (problem) return fail(problem);
  }
  const hits = shell.snapshotHits(name);
  const paths = hits.map((hit) => hit.snapshot as string);
  if (paths.length === 0) {
    const whose = name === undefined ? "no hit" : `no hit of ${name}`;
    return fail(
      `${whose} has a snapshot yet: a tracker takes them with \`then snapshot\` ` +
        "(e.g. track ... > 200us then snapshot), and :show opens the newest",
    );
  }
  // worst: the slowest of the kept hits (the newest of equals); [ ] still step in time order
  const index =
    which === "worst"
      ? hits.reduce((best, hit, i) => (hit.latency_ns >= hits[best].latency_ns ? i : best), 0)
      : paths.length - 1;
  const timeline = await loadTimeline(paths[index]);
  const others = paths.length > 1 ? `; [ and ] step through the last ${paths.length} hits` : "";
  const worst =
    which === "worst" ? `the slowest of ${paths.length} kept hits with a snapshot, ` : "";
  return ok([`showing ${worst}${paths[index]} (q goes back${others})`], {
    show: { timeline, paths, index },
  });
}

/** Starts, moves or stops the shell's /metrics endpoint; with no argument, says where it is. */
async function metrics(shell: ShellController, [arg]: string[]): Promise<Outcome> {
  const endpoint = shell.metrics;
  if (arg === undefined) {
    return ok([
      endpoint.url
        ? `serving metrics at ${endpoint.url}`
        : "not serving metrics (:metrics PORT or :metrics HOST:PORT starts)",
    ]);
  }
  if (arg === "off") {
    const url = await endpoint.stop();
    shell.poll();
    return ok([url ? `stopped serving metrics at ${url}` : "metrics were not being served"]);
  }
  const address = parseShellAddress(arg);
  try {
    const url = await endpoint.serve(address);
    shell.poll();
    return ok([`serving metrics at ${url} (Prometheus text format; :metrics off stops)`]);
  } catch (error) {
    shell.poll();
    const now = endpoint.url ? `still serving at ${endpoint.url}` : "not serving metrics";
    return fail(`${(error as Error).message} (${now})`);
  }
}
