// CST → AST: the only place where syntax gets meaning (which token is a field, what a
// number's unit is). Works over the CST types generated into grammar/cst.d.ts, so a
// grammar change that the builder does not follow fails the type check.

import type { CstNode, IToken } from "chevrotain";
import type * as cst from "../../grammar/cst.d.ts";
import type {
  AstAction,
  AstClause,
  AstExpr,
  AstLink,
  AstOptionValue,
  AstPrintField,
  AstProbe,
  AstSet,
  AstStatement,
  AstTrack,
  Quantity,
} from "./ast.ts";
import type { SourceRange } from "./diagnostic.ts";
import type { CompareOp } from "./plan.ts";

export function tokenRange(file: string, token: IToken): SourceRange {
  return {
    file,
    line: token.startLine ?? 1,
    col: token.startColumn ?? 1,
    endLine: token.endLine ?? token.startLine ?? 1,
    endCol: (token.endColumn ?? token.startColumn ?? 0) + 1,
    offset: token.startOffset,
    endOffset: (token.endOffset ?? token.startOffset) + 1,
  };
}

function nodeRange(file: string, node: CstNode): SourceRange {
  const l = node.location!;
  return {
    file,
    line: l.startLine!,
    col: l.startColumn!,
    endLine: l.endLine!,
    endCol: l.endColumn! + 1,
    offset: l.startOffset,
    endOffset: l.endOffset! + 1,
  };
}

function spanRange(from: SourceRange, to: SourceRange): SourceRange {
  return { ...from, endLine: to.endLine, endCol: to.endCol, endOffset: to.endOffset };
}

/** Builds the AST of one statement; the parser produced it without errors. */
export function buildStatement(file: string, node: cst.StatementCstNode): AstStatement {
  const { trackStatement, setStatement } = node.children;
  return trackStatement ? buildTrack(file, trackStatement[0]) : buildSet(file, setStatement![0]);
}

function buildTrack(file: string, node: cst.TrackStatementCstNode): AstTrack {
  const c = node.children;
  const nameToken = c.trackerName?.[0];
  return {
    kind: "track",
    name: nameToken ? { text: nameToken.image, range: tokenRange(file, nameToken) } : null,
    begins: buildSide(file, c.begin[0]),
    links: c.link.map((link) => buildLink(file, link)),
    until: c.untilClause ? buildUntil(file, c.untilClause[0]) : null,
    clauses: (c.clause ?? []).map((clause) => buildClause(file, clause)),
    range: nodeRange(file, node),
  };
}

function buildLink(file: string, node: cst.LinkCstNode): AstLink {
  const c = node.children;
  const arrow = (c.Arrow ?? c.ChainArrow)![0];
  return {
    kind: c.Arrow ? "pair" : "chain",
    arrowRange: tokenRange(file, arrow),
    probes: buildSide(file, c.side[0]),
  };
}

function buildUntil(file: string, node: cst.UntilClauseCstNode): AstTrack["until"] {
  const policy = node.children.Identifier[0];
  return {
    policy: policy.image,
    policyRange: tokenRange(file, policy),
    range: nodeRange(file, node),
  };
}

function buildSide(file: string, node: cst.SideCstNode): AstProbe[] {
  return node.children.probeAlternative!.map((alt) => buildProbe(file, alt));
}

function buildProbe(file: string, node: cst.ProbeAlternativeCstNode): AstProbe {
  const c = node.children;
  const nameToken = (c.QualifiedName ?? c.Identifier ?? c.UserProbe)![0];
  return {
    name: nameToken.image,
    nameRange: tokenRange(file, nameToken),
    keys: (c.key ?? []).map((key) => buildExpression(file, key)),
    filter: c.filter ? buildExpression(file, c.filter[0]) : null,
    range: nodeRange(file, node),
  };
}

function buildClause(file: string, node: cst.ClauseCstNode): AstClause {
  const c = node.children;
  const range = nodeRange(file, node);
  if (c.thresholdClause) {
    return {
      kind: "threshold",
      quantity: buildNumber(file, c.thresholdClause[0].children.number[0]),
      range,
    };
  }
  if (c.timeoutClause) {
    return {
      kind: "timeout",
      quantity: buildNumber(file, c.timeoutClause[0].children.number[0]),
      range,
    };
  }
  if (c.capacityClause) {
    return {
      kind: "capacity",
      quantity: buildNumber(file, c.capacityClause[0].children.number[0]),
      range,
    };
  }
  if (c.keepClause) {
    const policy = c.keepClause[0].children.Identifier[0];
    return { kind: "keep", policy: policy.image, policyRange: tokenRange(file, policy), range };
  }
  if (c.cancelClause) {
    return { kind: "cancel", probes: buildSide(file, c.cancelClause[0].children.side[0]), range };
  }
  const actions = c.thenClause![0].children.action.map((a) => buildAction(file, a));
  return { kind: "then", actions, range };
}

function buildAction(file: string, node: cst.ActionCstNode): AstAction {
  const nameToken = node.children.Identifier[0];
  const argument = node.children.StringLiteral?.[0];
  return {
    name: nameToken.image,
    nameRange: tokenRange(file, nameToken),
    argument: argument
      ? { value: unquote(argument.image), range: tokenRange(file, argument) }
      : null,
    fields: node.children.LParen
      ? (node.children.printField ?? []).map((f) => buildPrintField(file, f))
      : null,
    range: nodeRange(file, node),
  };
}

/** `prio` → the field alone; `end.prio` → the field, of the end's events. */
function buildPrintField(file: string, node: cst.PrintFieldCstNode): AstPrintField {
  const [first, second] = node.children.AnyName;
  const range = nodeRange(file, node);
  if (second === undefined) return { name: first.image, side: null, range };
  return { name: second.image, side: { name: first.image, range: tokenRange(file, first) }, range };
}

/** `200us` → 200n "us"; `0x10` → 16n null; `-5ms` → -5n "ms". */
function buildNumber(file: string, node: cst.NumberCstNode): Quantity {
  const c = node.children;
  const token = (c.NumberWithUnit ?? c.Integer ?? c.HexInteger)![0];
  const [, digits, unit] = /^(0[xX][0-9a-fA-F]+|\d+)(.*)$/.exec(token.image)!;
  const sign = c.Minus ? -1n : 1n;
  return {
    value: sign * BigInt(digits),
    unit: unit === "" ? null : unit,
    text: (c.Minus ? "-" : "") + token.image,
    range: nodeRange(file, node),
  };
}

function buildSet(file: string, node: cst.SetStatementCstNode): AstSet {
  const parts = node.children.AnyName;
  return {
    kind: "set",
    name: parts.map((p) => p.image).join("."),
    nameRange: spanRange(tokenRange(file, parts[0]), tokenRange(file, parts[parts.length - 1])),
    values: node.children.optionValue.map((v) => buildOptionValue(file, v)),
    range: nodeRange(file, node),
  };
}

function buildOptionValue(file: string, node: cst.OptionValueCstNode): AstOptionValue {
  const c = node.children;
  const range = nodeRange(file, node);
  if (c.number) return { kind: "number", quantity: buildNumber(file, c.number[0]), range };
  if (c.StringLiteral) return { kind: "string", value: unquote(c.StringLiteral[0].image), range };
  return { kind: "name", name: (c.QualifiedName ?? c.AnyName)![0].image, range };
}

function buildExpression(file: string, node: cst.ExpressionCstNode): AstExpr {
  const operands = node.children.andExpression.map((a) => buildAnd(file, a));
  return operands.reduce((left, right) => ({
    kind: "logic",
    op: "||",
    left,
    right,
    range: spanRange(left.range, right.range),
  }));
}

function buildAnd(file: string, node: cst.AndExpressionCstNode): AstExpr {
  const operands = node.children.unaryExpression.map((u) => buildUnary(file, u));
  return operands.reduce((left, right) => ({
    kind: "logic",
    op: "&&",
    left,
    right,
    range: spanRange(left.range, right.range),
  }));
}

function buildUnary(file: string, node: cst.UnaryExpressionCstNode): AstExpr {
  const c = node.children;
  if (c.comparison) return buildComparison(file, c.comparison[0]);
  return {
    kind: "not",
    operand: buildUnary(file, c.unaryExpression![0]),
    range: nodeRange(file, node),
  };
}

function buildComparison(file: string, node: cst.ComparisonCstNode): AstExpr {
  const c = node.children;
  const left = buildAtom(file, c.left[0]);
  if (!c.right) return left;
  const opToken = Object.values(c.compareOperator![0].children).flat()[0] as IToken;
  const right = buildAtom(file, c.right[0]);
  return {
    kind: "compare",
    op: opToken.image as CompareOp,
    left,
    right,
    range: nodeRange(file, node),
  };
}

function buildAtom(file: string, node: cst.AtomCstNode): AstExpr {
  const c = node.children;
  const range = nodeRange(file, node);
  if (c.number) return { kind: "number", quantity: buildNumber(file, c.number[0]), range };
  if (c.StringLiteral) return { kind: "string", value: unquote(c.StringLiteral[0].image), range };
  if (c.call) return buildCall(file, c.call[0]);
  if (c.BuiltinRef)
    return { kind: "name", name: c.BuiltinRef[0].image.slice(1), form: "builtin", range };
  if (c.AnyName) return { kind: "name", name: c.AnyName[0].image, form: "field", range };
  if (c.Identifier) return { kind: "name", name: c.Identifier[0].image, form: "bare", range };
  return { ...buildExpression(file, c.expression![0]), range };
}

function buildCall(file: string, node: cst.CallCstNode): AstExpr {
  const name = node.children.function[0];
  return {
    kind: "call",
    name: name.image,
    nameRange: tokenRange(file, name),
    argument: buildExpression(file, node.children.argument[0]),
    range: nodeRange(file, node),
  };
}

/** `"a \"b\""` → `a "b"`; an unterminated string (already reported) keeps its text. */
function unquote(image: string): string {
  const body = image.endsWith('"') && image.length > 1 ? image.slice(1, -1) : image.slice(1);
  return body.replace(/\\(.)/g, (_, ch: string) => ({ n: "\n", t: "\t" })[ch] ?? ch);
}
