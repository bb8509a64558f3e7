// Runs the kmod runtime's C tests (kmod-runtime/test: model, nested races, the original
// module's defects, multi-threaded stress, each under ThreadSanitizer and AddressSanitizer).
// Skips, saying why, only where there is no C compiler with the sanitizer runtimes.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";

const runtimeTests = join(import.meta.dirname, "..", "kmod-runtime", "test");

/** Why the C tests cannot run here (no make, gcc or sanitizer runtime), or null. */
function skipReason(): string | null {
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

const reason = existsSync(runtimeTests) ? skipReason() : "kmod-runtime/test is missing";
if (reason) {
  console.log(`  skip kmod-runtime: ${reason}`);
} else {
  test("kmod runtime C tests pass under TSan and ASan (make -C kmod-runtime/test check)", () => {
    const run = spawnSync("make", ["-s", "-j2", "-C", runtimeTests, "check"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    if (run.status !== 0) console.log(output);
    assert.is(run.status, 0, `make check failed (status ${run.status}, signal ${run.signal})`);
    for (const suite of ["model", "nested", "defects", "stress", "scope"]) {
      assert.ok(output.includes(`${suite}: ok`), `${suite} did not report ok`);
    }
  });
}

test.run();
