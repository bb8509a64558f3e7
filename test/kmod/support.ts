// Shared by the kmod suites: compiling .lt text with the bundled catalog (the same on every
// machine) and finding kernel headers to build generated modules against.

import { existsSync, readdirSync } from "node:fs";
import { loadBundledCatalog } from "../../src/compiler/catalog/index.ts";
import { compileSource } from "../../src/compiler/compile.ts";
import type { FilePlan } from "../../src/compiler/plan.ts";

const catalog = loadBundledCatalog();

export function planOf(text: string, file = "test.lt"): FilePlan {
  const { plan, diagnostics } = compileSource(text, file, { catalog, backend: "kmod" });
  if (!plan) throw new Error(`test program does not compile: ${diagnostics[0]?.message}`);
  return plan;
}

/**
 * A Debian headers directory to build against, or null (the build tests then skip). The
 * generic flavour: the PREEMPT_RT headers, when installed too, are test:vm's alone.
 */
export function kernelHeaders(): string | null {
  if (!existsSync("/usr/src")) return null;
  const dirs = readdirSync("/usr/src")
    .filter((d) => /^linux-headers-.*-amd64$/.test(d) && !d.endsWith("-rt-amd64"))
    .sort();
  const found = dirs.reverse().find((d) => existsSync(`/usr/src/${d}/Makefile`));
  return found ? `/usr/src/${found}` : null;
}

export function checkpatchPath(): string | null {
  const path = `${process.env.HOME}/.cache/ltsh-checkpatch/scripts/checkpatch.pl`;
  return existsSync(path) ? path : null;
}
