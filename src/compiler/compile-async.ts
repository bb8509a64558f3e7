// The front end's entry for the commands (check, compile, run): a program's file compiled with
// the user-space probe readers (ELF symbols, USDT notes; probes.ts) imported only when its
// text may name a user-space probe. Most programs name tracepoints only, and a first
// `ltsh run` then starts without them (three bundle chunks, a few ms).

import {
  type CompileFileOptions,
  type CompileResult,
  compileWith,
  readProgram,
} from "./compile-pipeline.ts";
import { mayNameUserProbe } from "./uprobe/spelling.ts";

/** compile.ts's compileFile, for a caller that can wait for the readers its program needs. */
export async function compileFileAsync(
  path: string,
  options: CompileFileOptions = {},
): Promise<CompileResult & { text: string }> {
  const { text, failed } = readProgram(path, options.bytes);
  if (failed) return { ...failed, text };
  const userProbes = mayNameUserProbe(text)
    ? (await import("./uprobe/probe-plan.ts")).planUserProbe
    : null;
  return { ...compileWith(userProbes, text, path, options), text };
}
