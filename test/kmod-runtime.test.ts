// Runs the kmod runtime's C tests (kmod-runtime/test: model, nested races, the original
// module's defects, multi-threaded stress, each under ThreadSanitizer and AddressSanitizer).
// Skips, saying why, only where there is no C compiler with the sanitizer runtimes.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runtimeTests, sanitizerSkipReason } from "./kmod-runtime-support.ts";

const reason = existsSync(runtimeTests) ? sanitizerSkipReason() : "kmod-runtime/test is missing";
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
