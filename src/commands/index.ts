// The registry of subcommands: adding one is one import and one entry here.

import type { Command } from "./usage.ts";

export const commands: Command[] = [];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
