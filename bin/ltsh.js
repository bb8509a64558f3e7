#!/usr/bin/env node
// Entry point of the `ltsh` command: refuses old Node.js clearly, then runs the TypeScript
// sources through tsx (no build step).
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `ltsh: error: Node.js ${process.versions.node} is too old; ltsh needs Node.js 22 or newer\n`,
  );
  process.exit(1);
}
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
