// The identity of ltsh's sources: how many files package.json, src/ and grammar/ hold and
// the newest modification time among them. The start-up bundle records it (bundle.mjs) and
// the compiled cache keys entries by it (session/compiled-cache.ts), so both must agree.

import { readdirSync, statSync } from "node:fs";

const SOURCE_DIRS = ["src", "grammar"];

/** `checkout`: the checkout's directory. `text` is the stamp as recorded ("files:newest"). */
export function sourceStampOf(checkout) {
  const root = checkout.endsWith("/") ? checkout.slice(0, -1) : checkout;
  // Paths are joined by hand: path.join normalizes every one, which was most of the stamp's
  // time on a first start (a few ms for ~230 files, before V8 has optimized anything).
  let newest = statSync(`${root}/package.json`).mtimeMs;
  let files = 1;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else {
        newest = Math.max(newest, statSync(path).mtimeMs);
        files++;
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(`${root}/${dir}`);
  return { files, newest, text: `${files}:${newest}` };
}
