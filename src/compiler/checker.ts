// Pass 3: resolves probes against the catalog, types keys and filters, checks clauses and
// actions. Produces CheckedTrack values that the planner completes (names, defaults).

import type { AstProgram, AstTrack } from "./ast.ts";
import { keyTaskOf } from "./captures.ts";
import type { CatalogIndex } from "./catalog/index.ts";
import { type BackendChoice, checkBackend } from "./checker-backend.ts";
import { checkLinks } from "./checker-chain.ts";
import { checkClauses } from "./checker-clauses.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { type CheckedOption, checkSet } from "./checker-set.ts";
import { userStackWarning } from "./checker-user.ts";
import type { Diagnostic, SourceRange } from "./diagnostic.ts";
import type {
  Action,
  CapturedValue,
  ChainPlan,
  KeepPolicy,
  KeyTask,
  ProbeSide,
  ValueType,
} from "./plan.ts";
import type { UserProbePlanner } from "./probes.ts";

export interface CheckedTrack {
  name: { text: string; range: SourceRange } | null;
  begins: ProbeSide[];
  ends: ProbeSide[];
  keyTypes: ValueType[];
  thresholdNs: number | null;
  timeoutNs: number | null;
  keep: KeepPolicy | null;
  capacity: number | null;
  actions: Action[] | null;
  /** `cancel` clauses' probes, keyed like the begins. */
  cancels: ProbeSide[];
  chain: ChainPlan | null;
  /** The first `~>` of a chain, where backend refusals point. */
  chainArrow: SourceRange | null;
  /** `then print(FIELD)` fields, then the key task's name field. */
  captures: CapturedValue[];
  keyTask: KeyTask | null;
  /** Where `print(...)` names its fields, for backends that refuse them. */
  printRange: SourceRange | null;
  range: SourceRange;
}

export interface CheckedProgram {
  file: string;
  trackers: CheckedTrack[];
  options: CheckedOption[];
}

/** `userProbes`: the readers that resolve `uprobe:`/`usdt:` probes (probes.ts). */
export function checkProgram(
  program: AstProgram,
  catalog: CatalogIndex,
  userProbes: UserProbePlanner,
  existingNames: readonly string[] = [],
  backend: BackendChoice = "any",
): {
  checked: CheckedProgram;
  diagnostics: Diagnostic[];
} {
  const context: CheckContext = { catalog, userProbes, diagnostics: [] };
  const trackers: CheckedTrack[] = [];
  const options: CheckedOption[] = [];
  for (const statement of program.statements) {
    if (statement.kind === "set") {
      const option = checkSet(statement, context, options);
      if (option) options.push(option);
    } else {
      const tracker = checkTrack(statement, context);
      if (tracker && checkBackend(tracker, backend, context)) trackers.push(tracker);
    }
  }
  checkDuplicateNames(trackers, existingNames, context);
  return { checked: { file: program.file, trackers, options }, diagnostics: context.diagnostics };
}

function checkTrack(ast: AstTrack, context: CheckContext): CheckedTrack | null {
  const errorsBefore = context.diagnostics.filter((d) => d.severity === "error").length;
  const links = checkLinks(ast, context);
  const tracker: CheckedTrack = {
    name: ast.name,
    ...links,
    thresholdNs: null,
    timeoutNs: null,
    keep: null,
    capacity: null,
    actions: null,
    cancels: [],
    captures: [],
    keyTask: null,
    printRange: null,
    range: ast.range,
  };
  checkClauses(ast.clauses, tracker, context);
  if (!tracker.chain) tracker.keyTask = keyTaskOf(tracker.begins, tracker.ends, tracker.captures);
  userStackWarning(tracker, context.diagnostics);
  const errorsAfter = context.diagnostics.filter((d) => d.severity === "error").length;
  return errorsAfter === errorsBefore ? tracker : null;
}

function checkDuplicateNames(
  trackers: CheckedTrack[],
  existingNames: readonly string[],
  context: CheckContext,
): void {
  const given = new Map<string, SourceRange>();
  for (const t of trackers) {
    if (!t.name) continue;
    const previous = given.get(t.name.text);
    if (previous || existingNames.includes(t.name.text)) {
      report(
        context,
        "duplicate-name",
        `a tracker named '${t.name.text}' already exists`,
        t.name.range,
        previous ? [`first defined at line ${previous.line}`] : undefined,
      );
    } else {
      given.set(t.name.text, t.name.range);
    }
  }
}
