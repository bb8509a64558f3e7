// Which kernels keep `missed`: those that count the runs they skip of a program attached
// through perf (Linux 6.7 and later); before, ltsh warns that `missed` reads 0.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { countsSkippedRuns } from "../../src/kernel/bpf.ts";

test("perf-attached programs' skipped runs are counted from Linux 6.7", () => {
  const counted = (r: string) => countsSkippedRuns(r);
  assert.equal(
    ["5.15.0-91-generic", "6.1.0-57-rt-amd64", "6.6.87", "6.7.0", "6.18.44-fc-v1045", "7.0.1"].map(
      counted,
    ),
    [false, false, false, true, true, true],
  );
});

test.run();
