#!/usr/bin/env node
// Entry point of the `ltsh` command: refuses old Node.js clearly, then runs the start-up
// bundle (scripts/bundle.mjs), rebuilding it when the sources changed; without a bundle
// (no esbuild, a read-only checkout) it runs the TypeScript sources through tsx.
import module from "node:module";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `ltsh: error: Node.js ${process.versions.node} is too old; ltsh needs Node.js 22 or newer\n`,
  );
  process.exit(1);
}
module.enableCompileCache?.();

async function loadMain() {
  if (process.env.LTSH_NO_BUNDLE) return fromSources();
  const bundle = await import("../scripts/bundle.mjs");
  try {
    const stamp = bundle.sourceStamp();
    if (bundle.bundleStamp() !== stamp) {
      if (!bundle.canBuild()) return fromSources();
      await bundle.buildBundle(stamp);
    }
    resolveChunksDirectly();
    return await import(bundle.BUNDLE);
  } catch {
    return fromSources();
  }
}

/**
 * The bundle's chunks import each other as "./chunk-HASH.mjs" (~70 imports in a first
 * `ltsh run`): Node's resolver checks and realpaths each one, ~0.1–0.2 ms apiece. They are
 * esbuild's files side by side in one directory, so the URL beside the importer is the answer.
 */
function resolveChunksDirectly() {
  module.registerHooks?.({
    resolve(specifier, context, nextResolve) {
      if (specifier.startsWith("./chunk-") && context.parentURL?.includes("/ltsh-bundle/")) {
        return {
          url: new URL(specifier, context.parentURL).href,
          format: "module",
          shortCircuit: true,
        };
      }
      return nextResolve(specifier, context);
    },
  });
}

async function fromSources() {
  const { register } = await import("tsx/esm/api");
  register();
  return import("../src/main.ts");
}

const { main } = await loadMain();
process.exitCode = await main(process.argv.slice(2));
