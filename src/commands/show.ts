// `ltsh show SNAPSHOT.txt`: a snapshot as a per-CPU timeline in the terminal (the view the
// shell opens with :show); without a terminal, its first screen printed as text.

import { type Command, parseCommandArgs, UsageError } from "./usage.ts";

/** The screen size used when stdout is not a terminal. */
const PLAIN_SIZE = { columns: 100, rows: 30 };

export const showCommand: Command = {
  name: "show",
  help: `Usage: ltsh show SNAPSHOT.txt

Shows a snapshot (a file written by 'then snapshot', or any ftrace text trace) as
a timeline: one row per CPU with the tasks that ran, by name, in a colour per
task; IRQs (H) and softirqs (S) under it; the hit's span from its begin to its
end; the keyed task's wakeup (W) and switch-in (R); and the event under the
cursor with its line from the file.

Keys:
  left/right, h/l    pan          +/-, i/o, up/down   zoom in/out
  n/p, Tab, space    next/previous event               g/G  first/last event
  f                  fit the hit                       a    the whole snapshot
  q, Escape          quit

Without a terminal (stdout not a TTY) the first screen is printed as text at
${PLAIN_SIZE.columns}x${PLAIN_SIZE.rows}.

Options:
  -h, --help  show this help

Exit status: 0 shown, 1 the file cannot be read or has no events, 2 bad usage.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {});
    if (values.help) {
      process.stdout.write(this.help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("expected one SNAPSHOT.txt");
    const { loadTimeline, TimelineError } = await import("../repl/timeline-model.ts");
    const { TraceError } = await import("../replay/reader.ts");
    let timeline: Awaited<ReturnType<typeof loadTimeline>>;
    try {
      timeline = await loadTimeline(positionals[0]);
    } catch (error) {
      if (!(error instanceof TraceError || error instanceof TimelineError)) throw error;
      process.stderr.write(`ltsh: error: ${error.message}\n`);
      return 1;
    }
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      const { initialTimelineState } = await import("../repl/timeline-state.ts");
      const { plainRows, timelineRows } = await import("../repl/timeline-format.ts");
      const { columns, rows } = PLAIN_SIZE;
      process.stdout.write(
        `${plainRows(timelineRows(initialTimelineState(timeline), columns, rows))}\n`,
      );
      return 0;
    }
    const { showTimeline } = await import("../repl/run-timeline.tsx");
    await showTimeline(timeline);
    return 0;
  },
};
