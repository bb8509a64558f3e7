// The generated grammar files (CST types, railroad diagrams) match the grammar, and the
// grammar passes Chevrotain's own validations (skipped at run time for speed).

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generatedGrammarFiles } from "../../grammar/generate.ts";
import { LtshParser } from "../../grammar/parser.ts";
import { createLexer } from "../../grammar/tokens.ts";

for (const [path, expected] of Object.entries(generatedGrammarFiles())) {
  test(`${path} is up to date (else: node --import tsx scripts/gen-grammar.ts)`, () => {
    const actual = readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
    assert.ok(
      actual === expected,
      `${path} is stale: run node --import tsx scripts/gen-grammar.ts`,
    );
  });
}

test("the lexer passes Chevrotain's validations", () => {
  const lexer = createLexer({ validate: true });
  assert.is(lexer.lexerDefinitionErrors.length, 0);
});

test("the parser passes Chevrotain's grammar validations (no ambiguity, no left recursion)", () => {
  const parser = new LtshParser({ validate: true });
  assert.ok(parser.getGAstProductions().program !== undefined);
});

test.run();
