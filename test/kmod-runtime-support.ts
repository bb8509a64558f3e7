// What the kmod runtime's user-space tests need: the C tests' directory and whether this
// machine can build them (make, gcc with the ThreadSanitizer and AddressSanitizer runtimes).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const runtimeTests = join(import.meta.dirname, "..", "kmod-runtime", "test");

/** Why the C tests cannot run here (no make, gcc or sanitizer runtime), or null. */
export function sanitizerSkipReason(): string | null {
  if (spawnSync("make", ["--version"]).status !== 0) return "make is not installed";
  const dir = mkdtempSync(join(tmpdir(), "ltsh-kmod-cc-"));
  try {
    const source = join(dir, "probe.c");
    writeFileSync(source, "int main(void) { return 0; }\n");
    for (const sanitizer of ["thread", "address,undefined"]) {
      const cc = spawnSync("gcc", [`-fsanitize=${sanitizer}`, source, "-o", join(dir, "probe")]);
      if (cc.status !== 0) {
        return `gcc -fsanitize=${sanitizer} does not link (apt-get install gcc libtsan2 libasan8 libubsan1)`;
      }
    }
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
