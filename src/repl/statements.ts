// The shell's statements: the `track` and `set` statements the user entered or loaded, in
// order, with the plan of each tracker. It is what :save writes and what every new
// prompt line is checked against (so duplicate names are caught as in a file).

import type { OptionValue, TrackerPlan } from "../compiler/plan.ts";

export type Statement =
  | { kind: "track"; name: string; source: string; plan: TrackerPlan }
  | { kind: "set"; name: string; source: string };

/** What the front end returns for a prompt line or a file. */
export type CheckResult =
  | { ok: false; errors: string }
  | {
      ok: true;
      trackers: TrackerPlan[];
      /** Names of the options the text sets (with their checked values). */
      sets: { name: string; value: OptionValue; source: string }[];
      /** Every option after checking, defaults filled in. */
      options: Record<string, OptionValue>;
      /** Rendered warnings (a duplicate action, an option set twice, ...), "" when none. */
      warnings: string;
    };

/** The front end, as the shell needs it; src/repl/front-end.ts adapts the compiler to it. */
export interface FrontEnd {
  /** One prompt line; `existingNames` are the shell's trackers (a new one must differ). */
  checkLine(line: string, existingNames: readonly string[]): CheckResult;
  /** A whole file, for :load and for checking what :save wrote. */
  checkFile(text: string, file: string, existingNames: readonly string[]): CheckResult;
}

export class ShellStatements {
  entries: Statement[] = [];

  trackers(): Extract<Statement, { kind: "track" }>[] {
    return this.entries.filter(
      (s): s is Extract<Statement, { kind: "track" }> => s.kind === "track",
    );
  }

  names(): string[] {
    return this.trackers().map((t) => t.name);
  }

  tracker(name: string): TrackerPlan | undefined {
    return this.trackers().find((t) => t.name === name)?.plan;
  }

  /** The statements as text: one per line, in the order entered. */
  source(): string {
    return this.entries.map((s) => `${s.source.trim()}\n`).join("");
  }

  add(result: Extract<CheckResult, { ok: true }>): void {
    for (const set of result.sets) {
      this.entries = this.entries.filter((s) => !(s.kind === "set" && s.name === set.name));
      this.entries.push({ kind: "set", name: set.name, source: set.source });
    }
    for (const plan of result.trackers) {
      this.entries.push({ kind: "track", name: plan.name, source: plan.source, plan });
    }
  }

  remove(name: string): void {
    this.entries = this.entries.filter((s) => !(s.kind === "track" && s.name === name));
  }

  /**
   * The text :save writes: a header, the options, then each tracker on its own paragraph,
   * always with its name (a derived name could change once others are removed). `tidy`
   * lays one-line trackers out one clause per line, as in examples/.
   */
  saved(header: string, tidy = true): string {
    const sets = this.entries.filter((s) => s.kind === "set").map((s) => s.source.trim());
    const tracks = this.trackers().map((t) =>
      tidy ? tidyTracker(t.plan) : withName(t.source.trim(), t.name),
    );
    const body = [...(sets.length > 0 ? [sets.join("\n")] : []), ...tracks];
    return `${header}\n\n${body.join("\n\n")}\n`;
  }
}

/**
 * A tracker typed on one line, laid out like examples/: name, begin, `-> end`, then one
 * clause per line. Sources written over several lines (from a file) are kept as they are.
 */
export function tidyTracker(plan: TrackerPlan): string {
  const source = plan.source.trim();
  const base = plan.range.offset;
  const cut = (range: { offset: number; endOffset: number }) =>
    plan.source.slice(range.offset - base, range.endOffset - base).trim();
  const sides = [...plan.begins, ...plan.ends].map((side) => cut(side.range));
  if (/[\n#]/.test(source) || plan.source !== source || sides.some((text) => text === "")) {
    return withName(source, plan.name);
  }
  const side = (list: typeof plan.begins) =>
    list.length === 1 ? cut(list[0].range) : `{ ${list.map((s) => cut(s.range)).join(" | ")} }`;
  const afterEnds = plan.source.slice((plan.ends.at(-1)?.range.endOffset ?? base) - base);
  const rest = afterEnds.replace(/^\s*\}/, "").trim();
  const thenAt = rest.search(/\bthen\b/);
  const clauses = (thenAt < 0 ? rest : rest.slice(0, thenAt)).trim();
  const lines = [
    `track ${plan.name}:`,
    side(plan.begins),
    `-> ${side(plan.ends)}`,
    ...(clauses ? clauses.split(/\s+(?=(?:timeout|keep|capacity)\b)/) : []),
    ...(thenAt < 0 ? [] : [rest.slice(thenAt).trim()]),
  ];
  return lines.map((line, i) => (i === 0 ? line : `    ${line}`)).join("\n");
}

/** `track sched_wakeup(pid) -> ...` becomes `track NAME: sched_wakeup(pid) -> ...`. */
export function withName(source: string, name: string): string {
  const named = new RegExp(`^track\\s+${name}\\s*:(?![A-Za-z_])`);
  if (named.test(source)) return source;
  return source.replace(/^track\s+/, `track ${name}: `);
}
