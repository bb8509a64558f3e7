// The history file: where it lives (XDG_STATE_HOME, else ~/.local/state), appending, and
// trimming a file that grew past twice the limit.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendHistory, historyPath, loadHistory } from "../../src/repl/history-file.ts";
import { HISTORY_LIMIT } from "../../src/repl/state.ts";

test("the path follows XDG_STATE_HOME, else HOME/.local/state", () => {
  assert.is(historyPath({ XDG_STATE_HOME: "/x/state", HOME: "/home/u" }), "/x/state/ltsh/history");
  assert.is(
    historyPath({ XDG_STATE_HOME: "", HOME: "/home/u" }),
    "/home/u/.local/state/ltsh/history",
  );
});

test("entries are appended (directories made), read back newest last, trimmed when huge", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-history-"));
  try {
    const path = join(dir, "ltsh", "history");
    assert.equal(loadHistory(path), []);
    assert.is(appendHistory(path, ":help"), null);
    assert.is(appendHistory(path, "track a: x(pid)\n-> y(pid)"), null);
    assert.equal(loadHistory(path), [":help", "track a: x(pid) -> y(pid)"]);
    const many = Array.from({ length: HISTORY_LIMIT * 2 + 5 }, (_, i) => `:list ${i}`);
    writeFileSync(path, `${many.join("\n")}\n`);
    const loaded = loadHistory(path);
    assert.is(loaded.length, HISTORY_LIMIT);
    assert.is(loaded.at(-1), many.at(-1));
    assert.is(readFileSync(path, "utf8").split("\n").length, HISTORY_LIMIT + 1);
    assert.match(appendHistory(join(path, "not-a-dir"), "x") ?? "", /ENOTDIR|EEXIST/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
