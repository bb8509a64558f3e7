// `npm run build:exe`: dist/ltsh, a single executable for hosts without Node.js (Node's
// single-executable applications). It is this machine's node binary with a blob injected
// (postject) that holds scripts/exe-main.cjs and, as assets, the start-up bundle of
// scripts/bundle.mjs, the data files the sources read beside themselves (the bundled
// catalog, kmod-runtime/, the demo), chevrotain's one-file build and koffi with its native
// addon for this platform; exe-main.cjs extracts them at the first start.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BUNDLE_DIR, buildBundle, bundleStamp, ROOT, sourceStamp } from "./bundle.mjs";

export const EXE = join(ROOT, "dist", "ltsh");
const POSTJECT = "postject@1.0.0-alpha.6";
// The fuse Node.js looks for to know a blob was injected (Node's SEA documentation).
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Every file under `dir` (relative to ROOT) whose name passes `keep`. */
function filesUnder(dir, keep = () => true) {
  const out = [];
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (keep(full)) out.push(relative(ROOT, full));
    }
  };
  walk(join(ROOT, dir));
  return out;
}

/** kmod-runtime/ as git has it (no build products), or the directory when there is no git. */
function kmodRuntimeFiles() {
  const git = spawnSync("git", ["-C", ROOT, "ls-files", "kmod-runtime"], { encoding: "utf8" });
  if (git.status === 0 && git.stdout.trim()) return git.stdout.trim().split("\n");
  return filesUnder("kmod-runtime", (f) => !/\.(o|ko|cmd|mod|mod\.c)$/.test(f));
}

/** The current bundle's entry and chunks (bundle.mjs lists each build's chunks). */
function bundleFiles() {
  const [chunks] = JSON.parse(readFileSync(join(BUNDLE_DIR, "builds.json"), "utf8"));
  return ["ltsh.mjs", ...chunks].map((f) => relative(ROOT, join(BUNDLE_DIR, f)));
}

function assetFiles() {
  const koffiNative = `node_modules/@koromix/koffi-${process.platform}-${process.arch}`;
  return [
    "package.json",
    ...bundleFiles(),
    "src/compiler/catalog/bundled.json.gz",
    ...kmodRuntimeFiles(),
    "examples/wakeup.lt",
    "examples/traces/demo.txt.gz",
    // grammar/chevrotain.ts resolves the package, then imports its one-file build.
    "node_modules/chevrotain/package.json",
    "node_modules/chevrotain/lib/src/api.js",
    "node_modules/chevrotain/lib/chevrotain.min.mjs",
    // koffi stays external to the bundle: its JavaScript, and the addon it requires.
    ...filesUnder(
      "node_modules/koffi",
      (f) => /\.(js|cjs|mjs|json)$/.test(f) && !f.includes("/vendor/"),
    ),
    ...filesUnder(koffiNative, (f) => !f.includes("/musl_") || process.platform !== "linux"),
  ];
}

async function freshBundle() {
  const stamp = sourceStamp();
  if (bundleStamp() !== stamp) await buildBundle(stamp);
}

/** The postject command: the devDependency when installed, else fetched by npx. */
function postject() {
  const local = join(ROOT, "node_modules", ".bin", "postject");
  return existsSync(local) ? [local] : ["npx", "--yes", POSTJECT];
}

/** Runs a build step quietly; its output becomes the error's message when it fails. */
function run(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) {
    const output = `${result.error?.message ?? ""}${result.stdout ?? ""}${result.stderr ?? ""}`;
    throw new Error(`${command} ${args[0]} failed:\n${output}`);
  }
}

export async function buildExe() {
  await freshBundle();
  const work = mkdtempSync(join(tmpdir(), "ltsh-exe-"));
  try {
    const files = assetFiles();
    const entries = files.map((path) => {
      const bytes = readFileSync(join(ROOT, path));
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      return { path, sha256, mode: statSync(join(ROOT, path)).mode & 0o755 };
    });
    const id = createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 16);
    const entry = relative(ROOT, join(BUNDLE_DIR, "ltsh.mjs"));
    writeFileSync(join(work, "manifest.json"), JSON.stringify({ id, entry, files: entries }));
    const assets = { "manifest.json": join(work, "manifest.json") };
    for (const path of files) assets[path] = join(ROOT, path);
    const config = {
      main: join(ROOT, "scripts", "exe-main.cjs"),
      output: join(work, "blob"),
      disableExperimentalSEAWarning: true,
      assets,
    };
    writeFileSync(join(work, "sea.json"), JSON.stringify(config));
    run(process.execPath, ["--experimental-sea-config", join(work, "sea.json")]);
    mkdirSync(join(ROOT, "dist"), { recursive: true });
    const temporary = `${EXE}.${process.pid}.tmp`;
    copyFileSync(process.execPath, temporary);
    chmodSync(temporary, 0o755);
    const [command, ...args] = postject();
    // postject warns about every ELF note it does not know: output is shown only on failure.
    try {
      run(command, [
        ...args,
        temporary,
        "NODE_SEA_BLOB",
        join(work, "blob"),
        "--sentinel-fuse",
        FUSE,
      ]);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    renameSync(temporary, EXE);
    return { path: EXE, bytes: statSync(EXE).size, assets: files.length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const { path, bytes, assets } = await buildExe();
  process.stdout.write(
    `built ${relative(ROOT, path)}: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${assets} files inside\n`,
  );
}
