// The flags that choose a backend, as `ltsh run` and the shell read them.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { chooseBackend } from "../../src/commands/backend-flags.ts";
import { UsageError } from "../../src/commands/usage.ts";

test("live eBPF by default; --target kmod; --replay with its pacing and format", () => {
  assert.equal(chooseBackend({}), { backend: "ebpf", replay: undefined });
  assert.equal(chooseBackend({ target: "kmod" }).backend, "kmod");
  assert.equal(chooseBackend({ replay: "t.txt", speed: "10", format: "perf", strict: true }), {
    backend: "replay",
    replay: { path: "t.txt", format: "perf", speed: 10, strict: true },
  });
  assert.equal(chooseBackend({ replay: "t.txt" }).replay?.speed, "max");
});

test("mistakes are usage errors that say what is wrong", () => {
  const cases: [Parameters<typeof chooseBackend>[0], RegExp][] = [
    [{ target: "dtrace" }, /--target must be ebpf or kmod/],
    [{ replay: "t", target: "ebpf" }, /--target chooses a live backend/],
    [{ speed: "10" }, /apply to --replay only/],
    [{ replay: "t", format: "ctf" }, /--format must be one of ftrace, perf, babeltrace/],
    [{ replay: "t", speed: "-1" }, /--speed expects a positive number or 'max'/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => chooseBackend(flags),
      (error: Error) => error instanceof UsageError && message.test(error.message),
    );
  }
});

test.run();
