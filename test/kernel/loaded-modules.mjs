// Preloaded (`node --import`) by test/kernel/live-compiled-cache.test.ts: at exit, writes the
// URL of every module the process loaded, one a line, to $LTSH_LOADED_MODULES. Inert without
// it (uvu imports every file of test/kernel when it runs the suite).
import { writeFileSync } from "node:fs";
import module from "node:module";

const out = process.env.LTSH_LOADED_MODULES;
if (out) {
  const loaded = [];
  module.registerHooks({
    load(url, context, nextLoad) {
      loaded.push(url);
      return nextLoad(url, context);
    },
  });
  process.on("exit", () => writeFileSync(out, `${loaded.join("\n")}\n`));
}
