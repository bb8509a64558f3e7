// Builds the start-up bundle: src/main.ts and everything it imports as one ES module, so
// that `ltsh` starts without compiling TypeScript (tsx's loader costs ~100–250 ms a start).
// bin/ltsh.js calls buildBundle() when the bundle is missing or older than the sources;
// `node scripts/bundle.mjs` builds it by hand.

import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceStampOf } from "../src/source-stamp.mjs";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BUNDLE_DIR = join(ROOT, "node_modules", ".cache", "ltsh-bundle");
export const BUNDLE = join(BUNDLE_DIR, "ltsh.mjs");
const STAMP = join(BUNDLE_DIR, "stamp.json");

/** The sources' stamp (src/source-stamp.mjs), as stamp.json records it. */
export function sourceStamp() {
  return sourceStampOf(ROOT).text;
}

/** Builds the bundle and records the sources' stamp; an atomic rename keeps racing starts safe. */
export async function buildBundle(stamp = sourceStamp()) {
  const esbuild = await import("esbuild");
  mkdirSync(dirname(BUNDLE_DIR), { recursive: true });
  const temporary = `${BUNDLE_DIR}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [join(ROOT, "src/main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // One chunk per lazily imported part (the shell, each backend, the codegens): a command
    // parses only what it runs, which keeps start-up time and memory down.
    splitting: true,
    outdir: temporary,
    entryNames: "ltsh",
    chunkNames: "chunk-[hash]",
    outExtension: { ".js": ".mjs" },
    // Failures are thrown; bin/ltsh.js then runs the sources through tsx instead.
    logLevel: "silent",
    // koffi carries a native module; the rest is plain JavaScript.
    external: ["koffi"],
    // The compiled cache keys entries by the code that made them (src/session/compiled-cache.ts).
    define: { "globalThis.__ltshBundleStamp": JSON.stringify(stamp) },
    // Ink imports react-devtools-core only when DEV is set; it is not installed.
    alias: { "react-devtools-core": join(ROOT, "scripts", "devtools-stub.mjs") },
    banner: {
      js: [
        'import { createRequire as __ltshCreateRequire } from "node:module";',
        "const require = __ltshCreateRequire(import.meta.url);",
        `const __ltshUrl = (path) => new URL("../../../" + path, import.meta.url).href;`,
      ].join("\n"),
    },
    plugins: [keepModuleUrls()],
  });
  install(temporary, stamp);
}

/**
 * Running ltsh processes import their chunks lazily (a backend, the shell), long after they
 * started: a rebuild must not take those files away. Chunk names are content hashes, so the
 * new build's chunks go in beside the old ones, then the entry, then the stamp (each an atomic
 * rename: a start sees a whole build, old or new); the chunks of the last KEEP_BUILDS builds
 * are kept, older ones removed.
 */
const KEEP_BUILDS = 5;

export function install(temporary, stamp, dir = BUNDLE_DIR) {
  mkdirSync(dir, { recursive: true });
  const chunks = readdirSync(temporary).filter((f) => f.startsWith("chunk-"));
  for (const chunk of chunks) renameSync(join(temporary, chunk), join(dir, chunk));
  renameSync(join(temporary, "ltsh.mjs"), join(dir, "ltsh.mjs"));
  const history = [chunks, ...readBuilds(dir)].slice(0, KEEP_BUILDS);
  const kept = new Set(history.flat());
  for (const file of readdirSync(dir)) {
    if (file.startsWith("chunk-") && !kept.has(file)) rmSync(join(dir, file), { force: true });
  }
  writeFileSync(join(temporary, "builds.json"), JSON.stringify(history));
  renameSync(join(temporary, "builds.json"), join(dir, "builds.json"));
  writeFileSync(join(temporary, "stamp.json"), JSON.stringify({ stamp }));
  renameSync(join(temporary, "stamp.json"), join(dir, "stamp.json"));
  rmSync(temporary, { recursive: true, force: true });
}

/** The chunk lists of the latest builds, newest first (none before the first build). */
function readBuilds(dir) {
  try {
    const builds = JSON.parse(readFileSync(join(dir, "builds.json"), "utf8"));
    return Array.isArray(builds) ? builds.filter(Array.isArray) : [];
  } catch {
    return [];
  }
}

/**
 * Sources find their data next to themselves (the bundled catalog, kmod-runtime/, the
 * demo trace) through import.meta.url: give each module its own file's URL back.
 */
function keepModuleUrls() {
  return {
    name: "keep-module-urls",
    setup(build) {
      build.onLoad({ filter: /\/(src|grammar)\/.*\.tsx?$/ }, async (args) => {
        const { readFile } = await import("node:fs/promises");
        const text = await readFile(args.path, "utf8");
        const path = relative(ROOT, args.path).split("\\").join("/");
        return {
          contents: text.replaceAll("import.meta.url", `__ltshUrl(${JSON.stringify(path)})`),
          loader: args.path.endsWith("x") ? "tsx" : "ts",
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

/** Whether this user can write the bundle (a root-owned checkout run by another user cannot). */
export function canBuild() {
  try {
    accessSync(join(ROOT, "node_modules"), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The recorded stamp of the current bundle, or null when there is none. */
export function bundleStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, "utf8")).stamp;
  } catch {
    return null;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildBundle();
  process.stdout.write(`built ${relative(ROOT, BUNDLE)}\n`);
}
