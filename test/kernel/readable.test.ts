// watchDevice: readiness on Node's event loop for what epoll accepts, and a plain null (not
// koffi's process abort) for what it refuses, so the kmod reader can fall back to a timer.

import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { watchDevice } from "../../src/kernel/readable.ts";

test("a regular file or /dev/null cannot be watched: null, and the process lives on", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-readable-test-"));
  writeFileSync(join(dir, "records"), "x");
  for (const path of [join(dir, "records"), "/dev/null"]) {
    const fd = openSync(path, "r");
    assert.is(
      watchDevice(fd, () => {}),
      null,
      path,
    );
    closeSync(fd);
  }
  rmSync(dir, { recursive: true, force: true });
});

test("a pollable file wakes its reader when data arrives, and not after close()", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-readable-test-"));
  const fifo = join(dir, "fifo");
  assert.is(spawnSync("mkfifo", [fifo]).status, 0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  let wakeups = 0;
  const watch = watchDevice(reader, () => {
    wakeups++;
    watch?.close(); // level-triggered: stop before the data is read
  });
  assert.ok(watch, "a FIFO is pollable");
  await new Promise((r) => setTimeout(r, 50));
  assert.is(wakeups, 0, "woken with nothing to read");
  writeSync(writer, "hit");
  const started = Date.now();
  while (wakeups === 0 && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 5));
  assert.is(wakeups, 1);
  closeSync(writer);
  closeSync(reader);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
