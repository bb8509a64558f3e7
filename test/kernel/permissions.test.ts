// What a user without privileges sees: one line naming what is missing and the fix. Run
// as children with capabilities dropped by setpriv (root here, so we can take them away).

import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelSkipReason, reportSkip } from "./support.ts";

const FIXTURE = new URL("./fixtures/print-permissions.ts", import.meta.url).pathname;
const HOLDER = new URL("./fixtures/hold-program.ts", import.meta.url).pathname;

function withCaps(bounding: string, script: string, args: string[] = []) {
  return spawnSync(
    "setpriv",
    [
      `--bounding-set=${bounding}`,
      "--inh-caps=-all",
      process.execPath,
      "--import",
      "tsx",
      script,
      ...args,
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
}

test("without any capability: one line saying what is missing and how to fix it", () => {
  const r = withCaps("-all", FIXTURE);
  const result = JSON.parse(r.stdout);
  assert.is(result.ok, false);
  assert.not.match(result.message, /\n/);
  assert.match(result.message, /CAP_BPF and CAP_PERFMON/);
  assert.match(result.message, /sudo/);
  assert.match(result.message, /--replay/);
});

test("a user with CAP_BPF and CAP_PERFMON but not uid 0: tracefs is root's, said as such", () => {
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all,+bpf,+perfmon",
      "--ambient-caps=+bpf,+perfmon",
      process.execPath,
      "--import",
      "tsx",
      FIXTURE,
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  const result = JSON.parse(r.stdout);
  assert.is(result.ok, false);
  assert.match(result.message, /^tracefs at \/sys\/kernel\/tracing is readable by root only: /);
  assert.not.match(result.message, /not mounted/);
});

test("CAP_BPF and CAP_PERFMON without root's other powers are enough to load and attach", () => {
  const r = withCaps("-all,+bpf,+perfmon", FIXTURE);
  assert.equal(JSON.parse(r.stdout), { ok: true });
  const held = withCaps("-all,+bpf,+perfmon", HOLDER, ["ltsh_capsonly", "--exit"]);
  assert.match(held.stdout, /ready/, held.stderr);
  assert.is(held.status, 0);
});

test("root of a user namespace is told its capabilities do not count", () => {
  const r = spawnSync("unshare", ["-Ur", process.execPath, "--import", "tsx", FIXTURE], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.error || r.status !== 0) {
    console.log(`  skip user namespace case: unshare -Ur failed (${r.stderr.trim() || r.error})`);
    return;
  }
  const result = JSON.parse(r.stdout);
  assert.is(result.ok, false);
  assert.match(result.message, /user namespace/);
  assert.not.match(result.message, /\n/);
});

const skip =
  kernelSkipReason() ??
  (spawnSync("setpriv", ["--version"]).error ? "setpriv (util-linux) is not installed" : null);
if (skip !== null) reportSkip("kernel/permissions", skip);
else test.run();
