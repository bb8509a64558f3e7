// Regenerates the grammar's derived files from grammar/parser.ts: the CST types
// (grammar/cst.d.ts) and the railroad diagrams (grammar/diagrams.html). A test fails when
// they are stale. Run: node --import tsx scripts/gen-grammar.ts
import { writeFileSync } from "node:fs";
import { generatedGrammarFiles } from "../grammar/generate.ts";

for (const [path, text] of Object.entries(generatedGrammarFiles())) {
  writeFileSync(new URL(`../${path}`, import.meta.url), text);
  process.stdout.write(`wrote ${path}\n`);
}
