// The kmod backend where modules cannot be loaded: one clear message, no stack trace, and
// nothing built or left behind.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openSession } from "../../src/session/backends.ts";
import { kmodUnavailableReason, removeStaleBuildDirs } from "../../src/session/kmod.ts";

const listener = { hit() {}, warning() {} };

test("a kernel without module support is named, with what to do instead", () => {
  assert.match(kmodUnavailableReason("9.9.9-test") ?? "", /9\.9\.9-test/);
});

if (!existsSync("/proc/modules")) {
  test("opening the kmod backend here fails with that reason", async () => {
    try {
      await openSession("kmod", { listener, options: {} });
      assert.unreachable("opened");
    } catch (error) {
      assert.match(
        (error as Error).message,
        /^the kmod backend cannot run here: the running kernel \(.*\) cannot load modules/,
      );
      assert.match((error as Error).message, /npm run test:vm/);
    }
  });
} else {
  console.log("  skip kmod open failure: this kernel can load modules (see npm run test:vm)");
}

test("build directories of dead sessions are removed, live ones kept", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-kmod-stale-test-"));
  mkdirSync(join(dir, "ltsh-999999999-kmod-abc"));
  mkdirSync(join(dir, `ltsh-${process.pid}-kmod-def`));
  mkdirSync(join(dir, "unrelated"));
  removeStaleBuildDirs(dir);
  assert.equal(readdirSync(dir).sort(), [`ltsh-${process.pid}-kmod-def`, "unrelated"]);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
