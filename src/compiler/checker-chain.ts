// Checks the links of a `track` statement: one `->` between a begin and an end (a plain
// tracker), or a chain `ORIGIN ~> [STEP ~> ...] TARGET [until run|block]` in which `->`
// hands the chain over by key value. Errors: `until` on a plain tracker, keys left out
// where they are needed, `->` between mismatched keys, a step no rule can reach.

import type { AstLink, AstProbe, AstTrack } from "./ast.ts";
import { type CheckContext, report } from "./checker-context.ts";
import { checkKeyShapes, checkProbe } from "./checker-probe.ts";
import { startsEmptyScope } from "./contexts.ts";
import type { SourceRange } from "./diagnostic.ts";
import type { ChainPlan, ChainStep, ProbeSide, ValueType } from "./plan.ts";

export interface CheckedLinks {
  begins: ProbeSide[];
  ends: ProbeSide[];
  keyTypes: ValueType[];
  chain: ChainPlan | null;
  chainArrow: SourceRange | null;
}

export function checkLinks(ast: AstTrack, context: CheckContext): CheckedLinks {
  const chainArrow = ast.links.find((l) => l.kind === "chain")?.arrowRange ?? null;
  return chainArrow ? checkChain(ast, chainArrow, context) : checkPair(ast, context);
}

function checkPair(ast: AstTrack, context: CheckContext): CheckedLinks {
  const [link, extra] = ast.links;
  if (extra) {
    report(
      context,
      "extra-link",
      "a plain tracker has one '->' (begin -> end); the steps of a chain are linked with '~>'",
      extra.arrowRange,
    );
  }
  if (ast.until) {
    report(
      context,
      "until-plain",
      "until applies to chain trackers (ORIGIN ~> ... TARGET), not to a begin -> end pair",
      ast.until.range,
    );
  }
  const begins = checkKeyedSide(ast.begins, context, "a plain tracker");
  const ends = checkKeyedSide(link.probes, context, "a plain tracker");
  const sides = [...begins, ...ends];
  const keyTypes = sides.length > 0 ? checkKeyShapes(sides, context) : [];
  return { begins, ends, keyTypes, chain: null, chainArrow: null };
}

/** The probes of a side that must be keyed; a missing key is reported, not guessed. */
export function checkKeyedSide(
  probes: AstProbe[],
  context: CheckContext,
  where: string,
): ProbeSide[] {
  const sides: ProbeSide[] = [];
  for (const probe of probes) {
    if (probe.keys.length === 0) {
      report(
        context,
        "missing-key",
        `${probe.name} needs a key in ${where}, e.g. ${probe.name}(pid); only the steps of a chain may leave it out`,
        probe.nameRange,
      );
      continue;
    }
    const side = checkProbe(probe, context);
    if (side) sides.push(side);
  }
  return sides;
}

function checkChain(ast: AstTrack, chainArrow: SourceRange, context: CheckContext): CheckedLinks {
  const until = checkUntil(ast, context);
  const written: { via: ChainStep["via"]; probe: AstProbe; link: AstLink | null }[] = [
    { via: "origin", probe: ast.begins[0], link: null },
    ...ast.links.map((link) => ({
      via: link.kind === "pair" ? ("key" as const) : ("context" as const),
      probe: link.probes[0],
      link,
    })),
  ];
  for (const side of [ast.begins, ...ast.links.map((l) => l.probes)]) {
    if (side.length > 1) {
      report(
        context,
        "chain-alternatives",
        "alternatives { a | b } are not supported in a chain yet: one probe per step",
        side[1].range,
      );
    }
  }
  const steps: ChainStep[] = [];
  written.forEach((step, i) => {
    const next = written[i + 1];
    const keyed = step.via === "key" || next?.via === "key";
    if (keyed && step.probe.keys.length === 0) {
      report(
        context,
        "missing-key",
        `${step.probe.name} needs a key: '->' in a chain hands it over by key value, e.g. ${step.probe.name}($pid, fd)`,
        step.probe.nameRange,
      );
      return;
    }
    if (step.via === "context" && startsEmptyScope(resolvedId(step.probe, context))) {
      report(
        context,
        "chain-unreachable",
        `no rule carries a chain into ${step.probe.name}: an interrupt or timer callback starts with no chain (it can only be the origin)`,
        step.probe.nameRange,
      );
      return;
    }
    const side = checkProbe(step.probe, context);
    if (side) steps.push({ via: step.via, side: keyed ? side : { ...side, key: [] } });
  });
  if (steps.length === written.length) checkHandOffKeys(steps, context);
  const origin = steps[0]?.side;
  const target = steps[steps.length - 1]?.side;
  return {
    begins: origin ? [origin] : [],
    ends: target ? [target] : [],
    keyTypes: [],
    chain: { steps, until },
    chainArrow,
  };
}

function checkUntil(ast: AstTrack, context: CheckContext): ChainPlan["until"] {
  if (!ast.until) return "run";
  const { policy, policyRange } = ast.until;
  if (policy === "run" || policy === "block") return policy;
  report(context, "until-policy", `until takes 'run' or 'block', not '${policy}'`, policyRange);
  return "run";
}

/** `P(k) -> Q(k)` inside a chain: Q's key must have P's shape. */
function checkHandOffKeys(steps: ChainStep[], context: CheckContext): void {
  steps.forEach((step, i) => {
    if (step.via === "key") checkKeyShapes([steps[i - 1].side, step.side], context);
  });
}

/** "category:name" when the catalog knows the probe (for the scope table), else the text. */
function resolvedId(probe: AstProbe, context: CheckContext): string {
  const found = context.catalog.find(probe.name);
  return found.ok ? `${found.tracepoint.category}:${found.tracepoint.name}` : probe.name;
}
