// Tab completion for the prompt, as a function of the line and a vocabulary:
// `:commands`, tracker names after :stop/:rm/..., emit targets, file names, keywords,
// probe names from the catalog and the fields (and builtins) of the probe being keyed, the
// fields of a statement's probes inside `then print(`;
// `uprobe:`/`uretprobe:`/`usdt:`, their paths, and a user-space probe's fields (read from
// its binary, the one thing here that is not the vocabulary's).

import { BUILTINS } from "../compiler/builtins.ts";
import { planUserProbe } from "../compiler/uprobe/probe-plan.ts";
import { isUserProbeSpelling, USER_PROBE_PREFIXES } from "../compiler/uprobe/spelling.ts";
import { type Line, lineOf } from "./line-editor.ts";

export interface Vocabulary {
  commands: readonly string[];
  keywords: readonly string[];
  /** Probe names as a user types them: "sched_wakeup" and "sched:sched_wakeup". */
  probes(): readonly string[];
  /** Fields of a probe (by name or category:name) and the builtins; [] if unknown. */
  fields(probe: string): readonly string[];
  trackers(): readonly string[];
  targets: readonly string[];
  /** Entries of a directory for :load/:save (names, directories ending in "/"). */
  files(prefix: string): readonly string[];
}

export interface Completion {
  line: Line;
  /** Shown under the prompt when several choices remain (the line got their common prefix). */
  candidates: string[];
}

/** Commands whose first argument is a tracker name. */
const TRACKER_COMMANDS = new Set([":stop", ":start", ":rm", ":hist", ":emit"]);
const FILE_COMMANDS = new Set([":load", ":save"]);
export const MAX_CANDIDATES_SHOWN = 24;

export function complete(line: Line, vocabulary: Vocabulary): Completion {
  const before = line.text.slice(0, line.cursor);
  const wordStart = findWordStart(before);
  const word = before.slice(wordStart);
  const pool = choicesFor(before.slice(0, wordStart), word, vocabulary);
  const matches = [...new Set(pool.filter((choice) => choice.startsWith(word)))].sort();
  if (matches.length === 0) return { line, candidates: [] };
  const common = commonPrefix(matches);
  const unique = matches.length === 1;
  const ending = unique && !/[/(:.]$/.test(common) ? " " : "";
  const completed = common + ending;
  const after = line.text.slice(line.cursor);
  const text = before.slice(0, wordStart) + completed + after;
  const cursor = wordStart + completed.length;
  return {
    line: { text, cursor },
    candidates: unique ? [] : shownCandidates(matches),
  };
}

/** The first choices, and how many more there are (4,000 probes do not fit a screen). */
function shownCandidates(matches: string[]): string[] {
  if (matches.length <= MAX_CANDIDATES_SHOWN) return matches;
  const more = matches.length - MAX_CANDIDATES_SHOWN;
  return [...matches.slice(0, MAX_CANDIDATES_SHOWN), `(… ${more} more: type more letters)`];
}

/** Words are broken at blanks and the language's punctuation; ":" stays inside probe ids. */
function findWordStart(before: string): number {
  let i = before.length;
  while (i > 0 && !/[\s(),{}|!=<>&]/.test(before[i - 1])) i--;
  return i;
}

function choicesFor(context: string, word: string, vocabulary: Vocabulary): readonly string[] {
  const args = context.trim().split(/\s+/).filter(Boolean);
  if (context.trimStart().startsWith(":") || (args.length === 0 && word.startsWith(":"))) {
    return commandChoices(args, word, vocabulary);
  }
  if (args.length === 0) return ["track", "set"];
  const userPath = /^(uprobe|uretprobe|usdt):([^:]*)$/.exec(word);
  if (userPath)
    return vocabulary
      .files(userPath[2])
      .map((f) => `${userPath[1]}:${f}${f.endsWith("/") ? "" : ":"}`);
  if (/\bthen\b.*\bprint\s*\([^)]*$/.test(context)) return printChoices(context, word, vocabulary);
  const scope = probeInScope(context);
  const fields =
    scope &&
    (isUserProbeSpelling(scope.probe)
      ? userProbeFields(scope.probe)
      : vocabulary.fields(scope.probe));
  if (scope?.inKey) return fields!;
  if (scope) return [...fields!, ...vocabulary.keywords];
  if (/(?:^|\s)track\s+(?:\w+:\s*)?$|->\s*\{?\s*$|[{|]\s*$/.test(context)) {
    return [...vocabulary.probes(), ...USER_PROBE_PREFIXES];
  }
  if (/^\s*track\s+\w+\s*$/.test(context)) return [];
  return [...vocabulary.keywords, ...vocabulary.probes()];
}

/**
 * Inside `then print(`: the fields of the statement's begin and end probes; after `begin.`
 * or `end.`, that side's fields so qualified.
 */
function printChoices(context: string, word: string, vocabulary: Vocabulary): string[] {
  const statement = context.slice(0, context.search(/\bthen\b/));
  const known = new Set(vocabulary.probes());
  const probesIn = (text: string) =>
    [...text.matchAll(/[A-Za-z_][\w]*(?::[A-Za-z_][\w]*)?/g)]
      .map((m) => m[0])
      .filter((name) => known.has(name));
  const arrow = statement.search(/->|~>/);
  const sides = {
    begin: probesIn(arrow < 0 ? statement : statement.slice(0, arrow)),
    end: arrow < 0 ? [] : probesIn(statement.slice(arrow)),
  };
  const fieldsOf = (probes: string[]) =>
    probes.flatMap((probe) => vocabulary.fields(probe).filter((f) => !f.startsWith("$")));
  const side = /^(begin|end)\./.exec(word)?.[1] as "begin" | "end" | undefined;
  if (side) return fieldsOf(sides[side]).map((f) => `${side}.${f}`);
  return [...fieldsOf([...sides.begin, ...sides.end]), "begin.", "end."];
}

function commandChoices(args: string[], word: string, vocabulary: Vocabulary): readonly string[] {
  if (args.length === 0) return vocabulary.commands;
  const [command] = args;
  if (args.length === 1 && TRACKER_COMMANDS.has(command)) return vocabulary.trackers();
  if (args.length === 1 && FILE_COMMANDS.has(command)) return vocabulary.files(word);
  if (args.length === 2 && command === ":emit") return vocabulary.targets;
  return [];
}

/**
 * The probe whose key list or `where` clause the cursor is in: the last `name(` before
 * the cursor, when its parenthesis is still open or a `where` follows it with no `->`,
 * `|` or `then` since.
 */
function probeInScope(context: string): { probe: string; inKey: boolean } | undefined {
  const calls = [
    ...context.matchAll(
      /((?:uprobe|uretprobe|usdt):[^\s(]+|[A-Za-z_][\w]*(?::[A-Za-z_][\w]*)?)\s*\(/g,
    ),
  ];
  const last = calls.at(-1);
  if (!last || last.index === undefined) return undefined;
  const rest = context.slice(last.index + last[0].length);
  let depth = 1;
  for (const char of rest) {
    if (char === "(") depth++;
    else if (char === ")") depth--;
  }
  if (depth > 0) return { probe: last[1], inKey: true };
  const afterKey = rest.slice(rest.lastIndexOf(")") + 1);
  if (/\bwhere\b/.test(afterKey) && !/->|\||\bthen\b|\}/.test(afterKey)) {
    return { probe: last[1], inKey: false };
  }
  return undefined;
}

/** arg0…/retval of the binary's probe (read from its ELF file), str( and the builtins. */
function userProbeFields(probe: string): string[] {
  const planned = planUserProbe(probe);
  const fields = planned.ok ? planned.value.probe.fields.map((f) => f.name) : [];
  return [...fields, "str(", ...Object.keys(BUILTINS).map((b) => `$${b}`)];
}

function commonPrefix(words: string[]): string {
  let prefix = words[0];
  for (const word of words) {
    while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}

/** A line whose completion, for tests and callers that only have text. */
export function completeText(text: string, vocabulary: Vocabulary): Completion {
  return complete(lineOf(text), vocabulary);
}
