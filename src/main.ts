// `ltsh` argument dispatch: a subcommand from the registry in ./commands/index.ts, or the
// interactive shell when the first argument is not a subcommand.

import { commands, findCommand } from "./commands/index.ts";
import { formatGlobalHelp, UsageError, VERSION } from "./commands/usage.ts";

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-V") {
    process.stdout.write(`ltsh ${VERSION}\n`);
    return 0;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(formatGlobalHelp(commands));
    return 0;
  }
  const entry = first !== undefined ? findCommand(first) : undefined;
  const args = entry ? rest : argv;
  const chosen = await (entry ?? findCommand("shell"))!.load();
  try {
    return await chosen.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ltsh ${chosen.name}: error: ${error.message}\n`);
      process.stderr.write(`Try 'ltsh ${chosen.name} --help'.\n`);
      return 2;
    }
    throw error;
  }
}
