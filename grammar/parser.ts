// biome-ignore-all lint/correctness/noComponentHookFactories: ALT and DEF are Chevrotain grammar callbacks, not React components
// The ltsh grammar as a Chevrotain CST parser: one class field per rule, and
// performSelfAnalysis() last. The parser only builds syntax trees; meaning (what a name
// resolves to, whether a unit exists) lives in src/compiler/ast-builder.ts and checker.ts.

import type { IParserErrorMessageProvider, TokenType } from "chevrotain";
import { CstParser } from "./chevrotain.ts";
import * as t from "./tokens.ts";

/** Short messages for the user; tokens are described by their LABEL ("'->'", "a name"). */
const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) =>
    `expected ${describe(expected)}, found ${quote(actual.image)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `unexpected ${quote(firstRedundant.image)} after a complete statement`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    const firsts = new Set(expectedPathsPerAlt.flat().map((path) => describe(path[0])));
    return `expected ${[...firsts].join(" or ")}, found ${quote(actual[0]?.image ?? "")}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) => {
    const firsts = new Set(expectedIterationPaths.map((path) => describe(path[0])));
    return `expected ${[...firsts].join(" or ")}, found ${quote(actual[0]?.image ?? "")}`;
  },
};

/** Integer, hex and number-with-unit tokens all read as "a number" in messages. */
function describe(token: TokenType): string {
  if (
    token === t.Integer ||
    token === t.HexInteger ||
    token === t.NumberWithUnit ||
    token === t.Minus
  ) {
    return "a number";
  }
  return token.LABEL ?? token.name;
}

function quote(image: string): string {
  return image === "" ? "the end of the input" : `'${image}'`;
}

export class LtshParser extends CstParser {
  /** `validate`: run Chevrotain's grammar checks (ambiguities, left recursion); tests do. */
  constructor(options: { validate: boolean } = { validate: false }) {
    super(t.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      maxLookahead: 3,
      skipValidations: !options.validate,
      errorMessageProvider: errorMessages,
    });
    this.performSelfAnalysis();
  }

  program = this.RULE("program", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.trackStatement) },
      { ALT: () => this.SUBRULE(this.setStatement) },
    ]);
  });

  /**
   * track [NAME:] BEGIN -> END [clauses], or a chain: track [NAME:] ORIGIN ~> [STEP ~> ...]
   * TARGET [until run|block] [clauses]. Which links may appear where is the checker's job.
   */
  trackStatement = this.RULE("trackStatement", () => {
    this.CONSUME(t.Track);
    this.OPTION(() => {
      this.CONSUME(t.Identifier, { LABEL: "trackerName" });
      this.CONSUME(t.Colon);
    });
    this.SUBRULE(this.side, { LABEL: "begin" });
    this.AT_LEAST_ONE(() => this.SUBRULE(this.link));
    this.OPTION2(() => this.SUBRULE(this.untilClause));
    this.MANY(() => this.SUBRULE(this.clause));
  });

  /** `-> SIDE` (pair by key) or `~> SIDE` (follow the execution context). */
  link = this.RULE("link", () => {
    this.OR([{ ALT: () => this.CONSUME(t.Arrow) }, { ALT: () => this.CONSUME(t.ChainArrow) }]);
    this.SUBRULE(this.side);
  });

  /** until run | until block: where a chain ends. */
  untilClause = this.RULE("untilClause", () => {
    this.CONSUME(t.Until);
    this.CONSUME(t.Identifier);
  });

  /** One probe, or alternatives in braces: { a(x) | b(x) where … }. */
  side = this.RULE("side", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.probeAlternative) },
      {
        ALT: () => {
          this.CONSUME(t.LCurly);
          this.AT_LEAST_ONE_SEP({ SEP: t.Pipe, DEF: () => this.SUBRULE2(this.probeAlternative) });
          this.CONSUME(t.RCurly);
        },
      },
    ]);
  });

  /** A tracepoint (`sched_wakeup`, `sched:sched_wakeup`) or a user-space probe, key, filter. */
  probeAlternative = this.RULE("probeAlternative", () => {
    this.OR([
      { ALT: () => this.CONSUME(t.QualifiedName) },
      { ALT: () => this.CONSUME(t.Identifier) },
      { ALT: () => this.CONSUME(t.UserProbe) },
    ]);
    // The key may be left out in a chain (`hrtimer_expire_entry` alone); the checker says
    // where it is required.
    this.OPTION2(() => {
      this.CONSUME(t.LParen);
      this.AT_LEAST_ONE_SEP({
        SEP: t.Comma,
        DEF: () => this.SUBRULE(this.expression, { LABEL: "key" }),
      });
      this.CONSUME(t.RParen);
    });
    this.OPTION(() => {
      this.CONSUME(t.Where);
      this.SUBRULE2(this.expression, { LABEL: "filter" });
    });
  });

  clause = this.RULE("clause", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.thresholdClause) },
      { ALT: () => this.SUBRULE(this.timeoutClause) },
      { ALT: () => this.SUBRULE(this.keepClause) },
      { ALT: () => this.SUBRULE(this.capacityClause) },
      { ALT: () => this.SUBRULE(this.thenClause) },
      { ALT: () => this.SUBRULE(this.cancelClause) },
    ]);
  });

  /** cancel PROBE(key) [where …]: forgets a pending begin with that key, counted. */
  cancelClause = this.RULE("cancelClause", () => {
    this.CONSUME(t.Cancel);
    this.SUBRULE(this.side);
  });

  thresholdClause = this.RULE("thresholdClause", () => {
    this.CONSUME(t.Greater);
    this.SUBRULE(this.number);
  });

  timeoutClause = this.RULE("timeoutClause", () => {
    this.CONSUME(t.Timeout);
    this.SUBRULE(this.number);
  });

  keepClause = this.RULE("keepClause", () => {
    this.CONSUME(t.Keep);
    this.CONSUME(t.Identifier);
  });

  capacityClause = this.RULE("capacityClause", () => {
    this.CONSUME(t.Capacity);
    this.SUBRULE(this.number);
  });

  thenClause = this.RULE("thenClause", () => {
    this.CONSUME(t.Then);
    this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE(this.action) });
  });

  /**
   * print | print(FIELD, ...) | snapshot | stack | exec "cmd args": the names are a table in
   * src/compiler/actions.ts, which also says which take a command or fields.
   */
  action = this.RULE("action", () => {
    this.CONSUME(t.Identifier);
    this.OPTION(() =>
      this.OR([
        { ALT: () => this.CONSUME(t.StringLiteral) },
        {
          ALT: () => {
            this.CONSUME(t.LParen);
            this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => this.SUBRULE(this.printField) });
            this.CONSUME(t.RParen);
          },
        },
      ]),
    );
  });

  /** A field of print(...): `prev_state`, or `begin.prio` / `end.prio` for one side's. */
  printField = this.RULE("printField", () => {
    this.CONSUME(t.AnyName);
    this.OPTION(() => {
      this.CONSUME(t.Dot);
      this.CONSUME2(t.AnyName);
    });
  });

  /** A number with an optional sign and unit: 200us, 8MiB, 4096, 0x10, -5ms. */
  number = this.RULE("number", () => {
    this.OPTION(() => this.CONSUME(t.Minus));
    this.OR([
      { ALT: () => this.CONSUME(t.NumberWithUnit) },
      { ALT: () => this.CONSUME(t.Integer) },
      { ALT: () => this.CONSUME(t.HexInteger) },
    ]);
  });

  /** set snapshot.buffer = 8MiB ; set snapshot.events = sched_switch, sched_wakeup */
  setStatement = this.RULE("setStatement", () => {
    this.CONSUME(t.SetKeyword);
    this.AT_LEAST_ONE_SEP({ SEP: t.Dot, DEF: () => this.CONSUME(t.AnyName) });
    this.CONSUME(t.Assign);
    this.AT_LEAST_ONE_SEP2({ SEP: t.Comma, DEF: () => this.SUBRULE(this.optionValue) });
  });

  optionValue = this.RULE("optionValue", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.number) },
      { ALT: () => this.CONSUME(t.StringLiteral) },
      { ALT: () => this.CONSUME(t.QualifiedName) },
      { ALT: () => this.CONSUME(t.AnyName) },
    ]);
  });

  expression = this.RULE("expression", () => {
    this.AT_LEAST_ONE_SEP({ SEP: t.OrOr, DEF: () => this.SUBRULE(this.andExpression) });
  });

  andExpression = this.RULE("andExpression", () => {
    this.AT_LEAST_ONE_SEP({ SEP: t.AndAnd, DEF: () => this.SUBRULE(this.unaryExpression) });
  });

  unaryExpression = this.RULE("unaryExpression", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(t.Bang);
          this.SUBRULE(this.unaryExpression);
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  /** At most one comparison operator: `a < b < c` is an error, not a surprise. */
  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.atom, { LABEL: "left" });
    this.OPTION({
      // `> 200us` after a filter is the threshold, not a comparison.
      GATE: () =>
        !(this.LA(1).tokenType === t.Greater && this.LA(2).tokenType === t.NumberWithUnit),
      DEF: () => {
        this.SUBRULE(this.compareOperator);
        this.SUBRULE2(this.atom, { LABEL: "right" });
      },
    });
  });

  compareOperator = this.RULE("compareOperator", () => {
    this.OR([
      { ALT: () => this.CONSUME(t.Equal) },
      { ALT: () => this.CONSUME(t.NotEqual) },
      { ALT: () => this.CONSUME(t.LessEqual) },
      { ALT: () => this.CONSUME(t.GreaterEqual) },
      { ALT: () => this.CONSUME(t.Less) },
      { ALT: () => this.CONSUME(t.Greater) },
    ]);
  });

  /**
   * A field (`prio`, `args.pid`), a builtin (`$pid`, `comm`), a literal, a call such as
   * `str(arg0)` (the names are the checker's) or a parenthesised expression.
   */
  atom = this.RULE("atom", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.SUBRULE(this.number) },
      { ALT: () => this.CONSUME(t.StringLiteral) },
      { ALT: () => this.CONSUME(t.BuiltinRef) },
      {
        ALT: () => {
          this.CONSUME(t.Args);
          this.CONSUME(t.Dot);
          this.CONSUME(t.AnyName);
        },
      },
      { ALT: () => this.CONSUME(t.Identifier) },
      {
        ALT: () => {
          this.CONSUME(t.LParen);
          this.SUBRULE(this.expression);
          this.CONSUME(t.RParen);
        },
      },
    ]);
  });

  /** NAME(EXPRESSION): `str(arg0)` reads a user-space string. */
  call = this.RULE("call", () => {
    this.CONSUME(t.Identifier, { LABEL: "function" });
    this.CONSUME(t.LParen);
    this.SUBRULE(this.expression, { LABEL: "argument" });
    this.CONSUME(t.RParen);
  });
}

/** One parser instance, reused: Chevrotain parsers are built once and fed new input. */
export const parser = new LtshParser();
