// The registry of subcommands: adding one is one entry here. A command's module (and what
// it imports: the compiler, a backend, the shell) is loaded only when that command runs.

import type { Command } from "./usage.ts";

export interface CommandEntry {
  name: string;
  /** One line for `ltsh --help`; the command's own help text lives in its module. */
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    name: "check",
    summary: "check .lt files against the kernel's tracepoints",
    load: async () => (await import("./check.ts")).checkCommand,
  },
  {
    name: "compile",
    summary: "compile a .lt file to its plan (JSON) or a backend's output",
    load: async () => (await import("./compile.ts")).compileCommand,
  },
  {
    name: "events",
    summary: "list tracepoints, or show one tracepoint's fields",
    load: async () => (await import("./events.ts")).eventsCommand,
  },
  {
    name: "run",
    summary: "run a file's trackers live, or on a recorded trace with --replay",
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    name: "serve",
    summary: "the headless daemon: trackers, /metrics, hits to a file, SIGHUP reloads",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "record",
    summary: "record tracepoints to an ftrace text file for --replay",
    load: async () => (await import("./record.ts")).recordCommand,
  },
  {
    name: "show",
    summary: "show a snapshot as a per-CPU timeline in the terminal",
    load: async () => (await import("./show.ts")).showCommand,
  },
  {
    name: "demo",
    summary: "the talk's three demonstrations: a workload, its trackers, a fault on a key",
    load: async () => (await import("./demo.ts")).demoCommand,
  },
  {
    name: "shell",
    summary: "the interactive shell (also: ltsh with no command)",
    load: async () => (await import("./shell.ts")).shellCommand,
  },
];

export function findCommand(name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name);
}
