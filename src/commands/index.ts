// The registry of subcommands: adding one is one import and one entry here.

import { checkCommand } from "./check.ts";
import { compileCommand } from "./compile.ts";
import { eventsCommand } from "./events.ts";
import { recordCommand } from "./record.ts";
import { runCommand } from "./run.ts";
import { shellCommand } from "./shell.ts";
import type { Command } from "./usage.ts";

export const commands: Command[] = [
  checkCommand,
  compileCommand,
  eventsCommand,
  runCommand,
  recordCommand,
  shellCommand,
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
