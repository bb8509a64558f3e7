// The house's imports point one way (DESIGN.md): records is the leaf; compiler, kernel and
// replay sit below session; session below commands and repl; nothing in src/ reaches into
// scripts/. A new back edge fails here, naming the file and the import.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");

/** For each layer, the top-level folders of src/ (and scripts/) it must not import. */
const FORBIDDEN: Record<string, string[]> = {
  records: ["compiler", "kernel", "replay", "session", "commands", "repl", "scripts"],
  compiler: ["replay", "session", "commands", "repl", "scripts"],
  kernel: ["compiler", "replay", "session", "commands", "repl", "scripts"],
  replay: ["kernel", "session", "commands", "repl", "scripts"],
  session: ["commands", "repl", "scripts"],
  commands: ["scripts"],
  repl: ["commands", "scripts"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Relative imports (static, type-only and dynamic) of a file, as paths under ROOT. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/\bfrom\s+["'](\.[^"']+)["']/g),
    ...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.map((s) => relative(ROOT, resolve(dirname(file), s)));
}

/** "src/session/live.ts" → "session"; "scripts/bundle.mjs" → "scripts". */
function layerOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "src" ? parts[1] : parts[0];
}

test("no layer imports from a layer above it", () => {
  const edges: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(relative(ROOT, file));
    const forbidden = FORBIDDEN[from] ?? [];
    for (const target of importsOf(file)) {
      if (forbidden.includes(layerOf(target))) edges.push(`${relative(ROOT, file)} → ${target}`);
    }
  }
  assert.equal(edges, [], `back edges:\n${edges.join("\n")}`);
});

test("the check sees a back edge: a session import from the replay layer would be caught", () => {
  const fake = join(SRC, "replay", "interpreter.ts");
  const target = relative(ROOT, resolve(dirname(fake), "../session/types.ts"));
  assert.ok(FORBIDDEN[layerOf(relative(ROOT, fake))].includes(layerOf(target)));
  assert.ok(importsOf(join(SRC, "session", "replay.ts")).includes("src/replay/interpreter.ts"));
});

test.run();
