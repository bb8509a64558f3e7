// The entry of dist/ltsh, the single executable (scripts/build-exe.mjs): a Node.js
// single-executable application whose assets are ltsh's start-up bundle, the data files
// its sources find beside themselves, and koffi with its native addon. At the first start
// of a build they are extracted into a directory of the user's cache (files cannot be
// imported or dlopen()ed from memory); later starts import the bundle from there at once.

const { createHash } = require("node:crypto");
const fs = require("node:fs");
const { enableCompileCache } = require("node:module");
const os = require("node:os");
const path = require("node:path");
const sea = require("node:sea");
const { pathToFileURL } = require("node:url");

const manifest = JSON.parse(sea.getAsset("manifest.json", "utf8"));

/** $XDG_CACHE_HOME/ltsh/exe (default ~/.cache), else a directory of this user's in /tmp. */
function cacheBases() {
  const bases = [];
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) bases.push(path.join(xdg, "ltsh", "exe"));
  else if (process.env.HOME) bases.push(path.join(process.env.HOME, ".cache", "ltsh", "exe"));
  bases.push(path.join(os.tmpdir(), `ltsh-exe-${process.getuid()}`));
  return bases;
}

/**
 * Code is run from this directory, so it must be ours alone: owned by this user and
 * writable by nobody else, like every directory above it up to the cache base (another
 * user's planted files would otherwise run with our privileges).
 */
function trusted(dir) {
  const stat = fs.lstatSync(dir);
  return stat.isDirectory() && stat.uid === process.getuid() && (stat.mode & 0o022) === 0;
}

function extract(root) {
  const temporary = `${root}.${process.pid}.tmp`;
  fs.rmSync(temporary, { recursive: true, force: true });
  for (const file of manifest.files) {
    const target = path.join(temporary, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const bytes = Buffer.from(sea.getRawAsset(file.path));
    if (createHash("sha256").update(bytes).digest("hex") !== file.sha256) {
      throw new Error(`the executable's asset ${file.path} is damaged`);
    }
    fs.writeFileSync(target, bytes, { mode: file.mode });
  }
  try {
    fs.renameSync(temporary, root); // another start may have won the race: its copy is as good
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    if (!fs.existsSync(root)) throw error;
  }
}

/**
 * Keeps the trees of the newest KEEP_BUILDS builds: a process of an older build still
 * running imports its chunks lazily (a backend, the shell), so its tree must not vanish at
 * once; older trees are removed.
 */
const KEEP_BUILDS = 3;

function prune(base, current) {
  const builds = fs
    .readdirSync(base)
    .filter((name) => /^[0-9a-f]{16}$/.test(name) && name !== current)
    .map((name) => ({ name, mtime: fs.statSync(path.join(base, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of builds.slice(KEEP_BUILDS - 1)) {
    fs.rmSync(path.join(base, name), { recursive: true, force: true });
  }
}

/** The extracted tree of this build (extracting it when missing). */
function prepare() {
  let failure;
  for (const base of cacheBases()) {
    try {
      fs.mkdirSync(base, { recursive: true, mode: 0o700 });
      if (!trusted(base)) throw new Error(`${base} is not owned by this user alone`);
      const root = path.join(base, manifest.id);
      if (!fs.existsSync(root)) {
        extract(root);
        prune(base, manifest.id);
      }
      if (!trusted(root)) throw new Error(`${root} is not owned by this user alone`);
      return root;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

async function start() {
  let root;
  try {
    root = prepare();
  } catch (error) {
    process.stderr.write(`ltsh: error: cannot unpack the executable's files: ${error.message}\n`);
    return 1;
  }
  enableCompileCache?.(path.join(root, ".compile-cache"));
  const { main } = await import(pathToFileURL(path.join(root, manifest.entry)).href);
  return main(process.argv.slice(2));
}

start().then((code) => {
  process.exitCode = code;
});
