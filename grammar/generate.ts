// What scripts/gen-grammar.ts writes and test/grammar/generated.test.ts compares: CST
// types and railroad diagrams, both derived from the parser's grammar.
// generateCstDts is @chevrotain/cst-dts-gen as re-exported by the bundle the parser is
// built from (its instanceof checks need the same classes).
import { createSyntaxDiagramsCode, generateCstDts } from "./chevrotain.ts";
import { parser } from "./parser.ts";

const HEADER =
  "// Generated from grammar/parser.ts by scripts/gen-grammar.ts: do not edit.\n// biome-ignore-all format: generated, compared byte for byte by test/grammar/generated.test.ts\n// biome-ignore-all lint: generated\n";

/** Repository-relative path → expected content. */
export function generatedGrammarFiles(): Record<string, string> {
  const productions = parser.getGAstProductions();
  return {
    "grammar/cst.d.ts": HEADER + generateCstDts(productions),
    "grammar/diagrams.html": createSyntaxDiagramsCode(parser.getSerializedGastProductions()),
  };
}
