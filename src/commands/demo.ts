// `ltsh demo [NAME]`: the talk's three demonstrations, each a workload, its trackers and a
// fault on a key (src/demo/). Without a name, the list.

import { cpus } from "node:os";
import { loadCatalogOrReport } from "./check.ts";
import { type Command, parseCommandArgs, UsageError, VERSION } from "./usage.ts";

export const demoCommand: Command = {
  name: "demo",
  help: `Usage: ltsh demo [NAME] [--cpu N] [--catalog FILE]

Without NAME, lists the demos. With one, checks what it needs (programs, root,
tracefs; the apt-get line when a package is missing), starts its workload in
the background, and opens the shell with its trackers running and a narration
above the tables. Press f on an empty prompt to inject the fault, f again to
remove it; :quit (or Ctrl-D, Ctrl-C twice) ends the demo and everything it
started. A demo left running by a killed ltsh is cleaned up by the next one.
The story of each, for a teacher: docs/teaching.md.

Options:
  --cpu N          the CPU the workload and its fault share (default: the last one;
                   the client, when there is one, runs on another)
  --catalog FILE   tracepoint catalog (see 'ltsh check --help')
  -h, --help       show this help
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      catalog: { type: "string" },
      cpu: { type: "string" },
    });
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    const { DEMOS, findDemo } = await import("../demo/registry.ts");
    if (positionals.length === 0) {
      const width = Math.max(...DEMOS.map((d) => d.name.length));
      for (const demo of DEMOS)
        process.stdout.write(`${demo.name.padEnd(width)}  ${demo.summary}\n`);
      return 0;
    }
    if (positionals.length > 1)
      throw new UsageError(`expected one demo, got ${positionals.length}`);
    const demo = findDemo(positionals[0]);
    if (!demo) {
      const names = DEMOS.map((d) => d.name).join(", ");
      throw new UsageError(`no demo named '${positionals[0]}' (the demos: ${names})`);
    }
    const cpu = values.cpu === undefined ? undefined : parseCpu(values.cpu);
    const { demoProblems, runDemo } = await import("../demo/run-demo.ts");
    const problems = await demoProblems(demo);
    for (const problem of problems) process.stderr.write(`ltsh: error: ${problem}\n`);
    if (problems.length > 0) return 1;
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write("ltsh: error: a demo opens the shell: it needs a terminal\n");
      return 1;
    }
    const catalog = loadCatalogOrReport(values.catalog);
    if (!catalog) return 1;
    const { demoCpus } = await import("../demo/demo.ts");
    return runDemo(demo, catalog, VERSION, demoCpus(cpu));
  },
};

/** `--cpu N`: an online CPU's number. */
function parseCpu(text: string): number {
  const online = cpus().length;
  const cpu = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(cpu < online)) {
    throw new UsageError(`--cpu ${text}: expected a CPU number from 0 to ${online - 1}`);
  }
  return cpu;
}
