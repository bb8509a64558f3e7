// Chevrotain, loaded from its single-file bundle. The package entry is ~100 small modules:
// through tsx that is ~60 ms at every `ltsh` start, against ~20 ms for the one-file bundle
// (see bench/check.ts). Same code, same version; types still come from "chevrotain".

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

type ChevrotainApi = typeof import("chevrotain");

const entry = pathToFileURL(createRequire(import.meta.url).resolve("chevrotain"));
const chevrotain: ChevrotainApi = await import(new URL("../chevrotain.min.mjs", entry).href);

export const { createToken, CstParser, Lexer, createSyntaxDiagramsCode, generateCstDts } =
  chevrotain;
