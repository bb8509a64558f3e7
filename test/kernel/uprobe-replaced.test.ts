// A binary replaced on disk while a live tracker probes it is not an error: the kernel keeps
// the uprobes on the inode they were attached to, so a process still running the old file
// stays traced and one started from the new file is not. The session says so when it sees
// it (within a second) and in the tracker's summary; a rewrite in place is told apart.

import { copyFileSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatSummary } from "../../src/records/output.ts";
import { buildWorkload, workloadSkipReason } from "../uprobe/workload.ts";
import { compileText, output, runLive, sleep } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";
import { serve } from "./uprobe-support.ts";

const w = buildWorkload();

function victim(name: string): string {
  const path = join(w.dir, name);
  copyFileSync(w.pie, path);
  return path;
}

const tracker = (path: string) =>
  compileText(`track add: uprobe:${path}:lt_add($tid) -> uretprobe:${path}:lt_add($tid)`);

test("replaced while traced: the old process stays traced, the new file's are not, and it is said", async () => {
  const path = victim("replaced");
  const live = await runLive(tracker(path), async () => {
    const old = serve(path);
    await old.ready;
    await output([path, "3"]);
    copyFileSync(w.nopie, `${path}.new`);
    renameSync(`${path}.new`, path); // what an upgrade or `mv` does: a new inode
    await output([path, "5"]);
    await old.enabled(); // one more iteration of the process started before
    old.close();
    await sleep(1200); // the session checks the file every second
  });
  const [summary] = live.summaries;
  assert.is(summary.pairs, 3 + 1, "the new file's 5 calls are not seen");
  const note = `${path} was replaced while traced (a new file): the probes stay on the old one; processes started from the new file were not traced`;
  assert.equal(summary.notes, [note]);
  assert.equal(live.warnings, [note], "said while running, once");
  assert.match(formatSummary(summary), `  note: ${note}`);
});

test("rewritten in place while traced: said as such; an untouched file has no note", async () => {
  const path = victim("rewritten");
  const untouched = victim("untouched");
  const plan = compileText(
    `track a: uprobe:${path}:lt_add($tid) -> uretprobe:${path}:lt_add($tid)
     track b: uprobe:${untouched}:lt_add($tid) -> uretprobe:${untouched}:lt_add($tid)`,
  );
  const live = await runLive(plan, async () => {
    await output([path, "2"]);
    writeFileSync(path, readFileSync(w.pie).subarray(0, 4096)); // same inode, new contents
    await output([untouched, "2"]);
  });
  const [a, b] = live.summaries;
  assert.is(a.pairs, 2);
  assert.match(a.notes?.[0] ?? "", `${path} was rewritten in place while traced`);
  assert.is(b.notes, undefined);
  assert.is(b.pairs, 2);
});

const skip = kernelSkipReason() ?? workloadSkipReason();
if (skip !== null) reportSkip("kernel/uprobe-replaced", skip);
else test.run();
