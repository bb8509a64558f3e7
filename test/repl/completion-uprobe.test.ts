// Tab completion of user-space probes: the three kinds where a probe goes, the binary's
// path after the kind (a file gets the ':' before the symbol), and in the key or the
// filter the fields the binary's probe has, str( and the builtins.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { completeText, type Vocabulary } from "../../src/repl/completion.ts";
import { listFiles } from "../../src/repl/vocabulary.ts";
import { buildWorkload } from "../uprobe/workload.ts";

const w = buildWorkload();
const vocabulary: Vocabulary = {
  commands: [],
  keywords: ["where", "then"],
  probes: () => ["sched_wakeup"],
  fields: () => [],
  trackers: () => [],
  targets: [],
  files: listFiles,
};

test("the kinds complete where a probe goes, with no space after the colon", () => {
  assert.equal(completeText("track u", vocabulary).candidates, ["uprobe:", "uretprobe:", "usdt:"]);
  assert.is(completeText("track us", vocabulary).line.text, "track usdt:");
  assert.is(completeText("track a(x) -> upr", vocabulary).line.text, "track a(x) -> uprobe:");
});

test("paths after the kind: directories go on, a file ends with ':'", () => {
  assert.is(
    completeText(`track usdt:${w.dir}/workload-n`, vocabulary).line.text,
    `track usdt:${w.dir}/workload-nopie:`,
  );
  assert.is(
    completeText(`track uprobe:${w.dir.slice(0, -2)}`, vocabulary).line.text.endsWith("/"),
    true,
  );
});

test("the binary's fields in the key and the filter", () => {
  const usdt = completeText(`track usdt:${w.pie}:widths(ar`, vocabulary);
  assert.equal(usdt.candidates, ["arg0", "arg1", "arg2", "arg3", "arg4", "arg5"]);
  assert.is(
    completeText(`track uretprobe:${w.pie}:lt_add(re`, vocabulary).line.text.endsWith("retval "),
    true,
  );
  assert.is(
    completeText(`track usdt:${w.pie}:tick(s`, vocabulary).line.text.endsWith("str("),
    true,
  );
  const filter = completeText(`track usdt:${w.pie}:tick($tid) where a`, vocabulary);
  assert.is(filter.line.text.endsWith("arg0 "), true);
});

test.run();
