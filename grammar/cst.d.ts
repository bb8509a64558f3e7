// Generated from grammar/parser.ts by scripts/gen-grammar.ts: do not edit.
// biome-ignore-all format: generated, compared byte for byte by test/grammar/generated.test.ts
// biome-ignore-all lint: generated
import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface ProgramCstNode extends CstNode {
  name: "program";
  children: ProgramCstChildren;
}

export type ProgramCstChildren = {
  statement?: StatementCstNode[];
};

export interface StatementCstNode extends CstNode {
  name: "statement";
  children: StatementCstChildren;
}

export type StatementCstChildren = {
  trackStatement?: TrackStatementCstNode[];
  setStatement?: SetStatementCstNode[];
};

export interface TrackStatementCstNode extends CstNode {
  name: "trackStatement";
  children: TrackStatementCstChildren;
}

export type TrackStatementCstChildren = {
  Track: IToken[];
  trackerName?: IToken[];
  Colon?: IToken[];
  begin: SideCstNode[];
  link: LinkCstNode[];
  untilClause?: UntilClauseCstNode[];
  clause?: ClauseCstNode[];
};

export interface LinkCstNode extends CstNode {
  name: "link";
  children: LinkCstChildren;
}

export type LinkCstChildren = {
  Arrow?: IToken[];
  ChainArrow?: IToken[];
  side: SideCstNode[];
};

export interface UntilClauseCstNode extends CstNode {
  name: "untilClause";
  children: UntilClauseCstChildren;
}

export type UntilClauseCstChildren = {
  Until: IToken[];
  Identifier: IToken[];
};

export interface SideCstNode extends CstNode {
  name: "side";
  children: SideCstChildren;
}

export type SideCstChildren = {
  probeAlternative?: (ProbeAlternativeCstNode)[];
  LCurly?: IToken[];
  Pipe?: IToken[];
  RCurly?: IToken[];
};

export interface ProbeAlternativeCstNode extends CstNode {
  name: "probeAlternative";
  children: ProbeAlternativeCstChildren;
}

export type ProbeAlternativeCstChildren = {
  QualifiedName?: IToken[];
  Identifier?: IToken[];
  UserProbe?: IToken[];
  LParen?: IToken[];
  key?: ExpressionCstNode[];
  Comma?: IToken[];
  RParen?: IToken[];
  Where?: IToken[];
  filter?: ExpressionCstNode[];
};

export interface ClauseCstNode extends CstNode {
  name: "clause";
  children: ClauseCstChildren;
}

export type ClauseCstChildren = {
  thresholdClause?: ThresholdClauseCstNode[];
  timeoutClause?: TimeoutClauseCstNode[];
  keepClause?: KeepClauseCstNode[];
  capacityClause?: CapacityClauseCstNode[];
  thenClause?: ThenClauseCstNode[];
  cancelClause?: CancelClauseCstNode[];
};

export interface CancelClauseCstNode extends CstNode {
  name: "cancelClause";
  children: CancelClauseCstChildren;
}

export type CancelClauseCstChildren = {
  Cancel: IToken[];
  side: SideCstNode[];
};

export interface ThresholdClauseCstNode extends CstNode {
  name: "thresholdClause";
  children: ThresholdClauseCstChildren;
}

export type ThresholdClauseCstChildren = {
  Greater: IToken[];
  number: NumberCstNode[];
};

export interface TimeoutClauseCstNode extends CstNode {
  name: "timeoutClause";
  children: TimeoutClauseCstChildren;
}

export type TimeoutClauseCstChildren = {
  Timeout: IToken[];
  number: NumberCstNode[];
};

export interface KeepClauseCstNode extends CstNode {
  name: "keepClause";
  children: KeepClauseCstChildren;
}

export type KeepClauseCstChildren = {
  Keep: IToken[];
  Identifier: IToken[];
};

export interface CapacityClauseCstNode extends CstNode {
  name: "capacityClause";
  children: CapacityClauseCstChildren;
}

export type CapacityClauseCstChildren = {
  Capacity: IToken[];
  number: NumberCstNode[];
};

export interface ThenClauseCstNode extends CstNode {
  name: "thenClause";
  children: ThenClauseCstChildren;
}

export type ThenClauseCstChildren = {
  Then: IToken[];
  action: ActionCstNode[];
  Comma?: IToken[];
};

export interface ActionCstNode extends CstNode {
  name: "action";
  children: ActionCstChildren;
}

export type ActionCstChildren = {
  Identifier: IToken[];
  StringLiteral?: IToken[];
  LParen?: IToken[];
  printField?: PrintFieldCstNode[];
  Comma?: IToken[];
  RParen?: IToken[];
};

export interface PrintFieldCstNode extends CstNode {
  name: "printField";
  children: PrintFieldCstChildren;
}

export type PrintFieldCstChildren = {
  AnyName: (IToken)[];
  Dot?: IToken[];
};

export interface NumberCstNode extends CstNode {
  name: "number";
  children: NumberCstChildren;
}

export type NumberCstChildren = {
  Minus?: IToken[];
  NumberWithUnit?: IToken[];
  Integer?: IToken[];
  HexInteger?: IToken[];
};

export interface SetStatementCstNode extends CstNode {
  name: "setStatement";
  children: SetStatementCstChildren;
}

export type SetStatementCstChildren = {
  Set: IToken[];
  AnyName: IToken[];
  Dot?: IToken[];
  Assign: IToken[];
  optionValue: OptionValueCstNode[];
  Comma?: IToken[];
};

export interface OptionValueCstNode extends CstNode {
  name: "optionValue";
  children: OptionValueCstChildren;
}

export type OptionValueCstChildren = {
  number?: NumberCstNode[];
  StringLiteral?: IToken[];
  QualifiedName?: IToken[];
  AnyName?: IToken[];
};

export interface ExpressionCstNode extends CstNode {
  name: "expression";
  children: ExpressionCstChildren;
}

export type ExpressionCstChildren = {
  andExpression: AndExpressionCstNode[];
  OrOr?: IToken[];
};

export interface AndExpressionCstNode extends CstNode {
  name: "andExpression";
  children: AndExpressionCstChildren;
}

export type AndExpressionCstChildren = {
  unaryExpression: UnaryExpressionCstNode[];
  AndAnd?: IToken[];
};

export interface UnaryExpressionCstNode extends CstNode {
  name: "unaryExpression";
  children: UnaryExpressionCstChildren;
}

export type UnaryExpressionCstChildren = {
  Bang?: IToken[];
  unaryExpression?: UnaryExpressionCstNode[];
  comparison?: ComparisonCstNode[];
};

export interface ComparisonCstNode extends CstNode {
  name: "comparison";
  children: ComparisonCstChildren;
}

export type ComparisonCstChildren = {
  left: AtomCstNode[];
  compareOperator?: CompareOperatorCstNode[];
  right?: AtomCstNode[];
};

export interface CompareOperatorCstNode extends CstNode {
  name: "compareOperator";
  children: CompareOperatorCstChildren;
}

export type CompareOperatorCstChildren = {
  Equal?: IToken[];
  NotEqual?: IToken[];
  LessEqual?: IToken[];
  GreaterEqual?: IToken[];
  Less?: IToken[];
  Greater?: IToken[];
};

export interface AtomCstNode extends CstNode {
  name: "atom";
  children: AtomCstChildren;
}

export type AtomCstChildren = {
  call?: CallCstNode[];
  number?: NumberCstNode[];
  StringLiteral?: IToken[];
  BuiltinRef?: IToken[];
  Args?: IToken[];
  Dot?: IToken[];
  AnyName?: IToken[];
  Identifier?: IToken[];
  LParen?: IToken[];
  expression?: ExpressionCstNode[];
  RParen?: IToken[];
};

export interface CallCstNode extends CstNode {
  name: "call";
  children: CallCstChildren;
}

export type CallCstChildren = {
  function: IToken[];
  LParen: IToken[];
  argument: ExpressionCstNode[];
  RParen: IToken[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  program(children: ProgramCstChildren, param?: IN): OUT;
  statement(children: StatementCstChildren, param?: IN): OUT;
  trackStatement(children: TrackStatementCstChildren, param?: IN): OUT;
  link(children: LinkCstChildren, param?: IN): OUT;
  untilClause(children: UntilClauseCstChildren, param?: IN): OUT;
  side(children: SideCstChildren, param?: IN): OUT;
  probeAlternative(children: ProbeAlternativeCstChildren, param?: IN): OUT;
  clause(children: ClauseCstChildren, param?: IN): OUT;
  cancelClause(children: CancelClauseCstChildren, param?: IN): OUT;
  thresholdClause(children: ThresholdClauseCstChildren, param?: IN): OUT;
  timeoutClause(children: TimeoutClauseCstChildren, param?: IN): OUT;
  keepClause(children: KeepClauseCstChildren, param?: IN): OUT;
  capacityClause(children: CapacityClauseCstChildren, param?: IN): OUT;
  thenClause(children: ThenClauseCstChildren, param?: IN): OUT;
  action(children: ActionCstChildren, param?: IN): OUT;
  printField(children: PrintFieldCstChildren, param?: IN): OUT;
  number(children: NumberCstChildren, param?: IN): OUT;
  setStatement(children: SetStatementCstChildren, param?: IN): OUT;
  optionValue(children: OptionValueCstChildren, param?: IN): OUT;
  expression(children: ExpressionCstChildren, param?: IN): OUT;
  andExpression(children: AndExpressionCstChildren, param?: IN): OUT;
  unaryExpression(children: UnaryExpressionCstChildren, param?: IN): OUT;
  comparison(children: ComparisonCstChildren, param?: IN): OUT;
  compareOperator(children: CompareOperatorCstChildren, param?: IN): OUT;
  atom(children: AtomCstChildren, param?: IN): OUT;
  call(children: CallCstChildren, param?: IN): OUT;
}
