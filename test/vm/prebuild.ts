// Builds on the host the modules `ltsh run FILE --target kmod` will want in a guest, into the
// build cache the guest shares (its XDG_CACHE_HOME), so the guest inserts them from the cache
// instead of compiling under TCG: the session's own compile(), with the guest kernel's headers.

import { join } from "node:path";
import { compileFile } from "../../src/compiler/compile.ts";
import { KmodSession } from "../../src/session/kmod.ts";
import { systemHost } from "../../src/session/kmod-host.ts";

/** Every tracker of `file` built into `cacheHome`; null when all are cached, else why not. */
export async function prebuildSessionModules(
  release: string,
  cacheHome: string,
  file: string,
): Promise<string | null> {
  const { plan } = compileFile(file, { backend: "kmod" });
  if (!plan) return `${file} does not compile`;
  const host = systemHost(release);
  if (!host.cache) return "no cache";
  const cache = { dir: join(cacheHome, "ltsh", "kmod", release), headers: host.cache.headers };
  const listener = { hit: () => {}, warning: () => {} };
  const session = new KmodSession(listener, plan.options, { ...host, cache });
  for (const tracker of plan.trackers) {
    try {
      const artifact = await session.compile(tracker);
      if (artifact.buildDir !== null) return `${tracker.name}: built but not cached`;
    } catch (error) {
      return (error as Error).message;
    }
  }
  return null;
}
