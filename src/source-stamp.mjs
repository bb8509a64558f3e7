// The identity of ltsh's sources: how many files package.json, src/ and grammar/ hold and
// the newest modification time among them. The start-up bundle records it (bundle.mjs) and
// the compiled cache keys entries by it (session/compiled-cache.ts), so both must agree.

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const SOURCE_DIRS = ["src", "grammar"];

/** `root`: the checkout. `text` is the stamp as recorded ("files:newest"). */
export function sourceStampOf(root) {
  let newest = statSync(join(root, "package.json")).mtimeMs;
  let files = 1;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        newest = Math.max(newest, statSync(path).mtimeMs);
        files++;
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return { files, newest, text: `${files}:${newest}` };
}
