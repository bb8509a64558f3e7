#!/usr/bin/env node
// Entry point of `ltsh-lami`, ltsh as an external analysis of Trace Compass (LAMI 1.0): refuses
// old Node.js clearly, then runs src/lami/main.ts through tsx. See README.md, "Trace Compass".
import module from "node:module";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stdout.write(
    `${JSON.stringify({
      "error-message": `Node.js ${process.versions.node} is too old; ltsh-lami needs Node.js 22 or newer`,
    })}\n`,
  );
  process.exit(1);
}
module.enableCompileCache?.();

const { register } = await import("tsx/esm/api");
register();
const { lamiMain } = await import("../src/lami/main.ts");
process.exitCode = await lamiMain(process.argv.slice(2));
