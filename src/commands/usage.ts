// The Command shape every subcommand registers, flag parsing with clear usage errors,
// and the global help text.

import { createRequire } from "node:module";
import { type ParseArgsConfig, parseArgs } from "node:util";

const require = createRequire(import.meta.url);
export const VERSION: string = require("../../package.json").version;

export interface Command {
  name: string;
  /** Full text for `ltsh NAME --help`. */
  help: string;
  /** Returns the exit code: 0 success, 1 a user's mistake or a runtime failure, 2 bad usage. */
  run(args: string[]): Promise<number>;
}

/** Bad flags or arguments: main() prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * util.parseArgs in strict mode, with its errors turned into UsageError.
 * Returns null when --help was given (the caller prints its help and returns 0).
 */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    return parsed;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ""));
  }
}

export function formatGlobalHelp(commands: readonly { name: string; summary: string }[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "ltsh — latency trackers for Linux, compiled to eBPF or a kernel module",
    "",
    "Usage: ltsh [FILE.lt] [--replay TRACE]   open the interactive shell",
    "       ltsh COMMAND [OPTIONS]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options: --help, --version. Run 'ltsh COMMAND --help' for a command's options.",
    "",
  ].join("\n");
}
