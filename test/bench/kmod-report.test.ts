// bench/kmod.ts's report: the verdict each example gets against the peer checkout, from the
// runs' this / peer ratios (taken within one boot) and their 95% interval of the median.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Boot, type Measured, runRatios, section } from "../../bench/kmod-report.ts";

/** Runs where this checkout's syscall module costs `syscallFactor` times the peer's. */
function measured(runs: number, syscallFactor: number): Measured {
  const each = (ns: (run: number) => number) => Array.from({ length: runs }, (_, r) => ns(r));
  // The host's load: every configuration of a run slowed alike, by up to 30% from run to run.
  const load = (run: number) => 1 + ((run * 7) % 10) * 0.03;
  return {
    ns: {
      base: { this: each((r) => Math.round(60000 * load(r))), peer: [] },
      syscall: {
        this: each((r) => Math.round(70000 * syscallFactor * load(r))),
        peer: each((r) => Math.round(70000 * load(r))),
      },
      wakeup: {
        this: each((r) => Math.round(68000 * load(r) * (r % 2 ? 1.01 : 0.99))),
        peer: each((r) => Math.round(68000 * load(r))),
      },
    },
    syscallEventsPerRound: { this: each(() => 8), peer: each(() => 8) },
  };
}

function report(m: Measured, runs: number): string {
  const boot: Boot = { measured: m, runs, load: [3, 4], minutes: 2 };
  return section({
    accel: "tcg",
    release: "6.1.0-57-amd64",
    commit: "aaaaaaa",
    peer: "bbbbbbb",
    rounds: 10000,
    host: "test CPU, 2 CPUs",
    clock: boot,
    counted: null,
  });
}

test("ratios are taken run by run, so load that slows a whole run cancels out", () => {
  const r = runRatios(measured(20, 1.05).ns.syscall);
  assert.is(r.n, 20);
  assert.ok(Math.abs(r.mid - 1.05) < 1e-4, `median ${r.mid}`);
  assert.ok(Math.abs(r.lo - 1.05) < 1e-4 && Math.abs(r.hi - 1.05) < 1e-4);
});

test("a module that costs 5% more in every run is costlier beyond noise", () => {
  const text = report(measured(20, 1.05), 20);
  assert.match(text, /examples\/syscall\.lt: aaaaaaa \/ bbbbbbb = 1\.050, costlier beyond noise/);
  assert.match(text, /\| this \(aaaaaaa\) \| /);
  assert.match(text, /\| peer \(bbbbbbb\) \| /);
});

test("ratios scattered on both sides of 1 are the same within noise", () => {
  const text = report(measured(20, 1.05), 20);
  assert.match(text, /examples\/wakeup\.lt: aaaaaaa \/ bbbbbbb = 1\.010, the same within noise/);
});

test("fewer than 6 runs get no verdict: their median has no 95% interval", () => {
  const text = report(measured(5, 1.05), 5);
  assert.match(text, /syscall\.lt: aaaaaaa \/ bbbbbbb = 1\.050, too few runs to tell from noise/);
});

test("an example whose text changed since the peer gets a row of the same work, the peer's text on both sides", () => {
  const m = measured(20, 1.0);
  const peer = m.ns.wakeup.peer;
  m.ns["wakeup@peer"] = { this: peer.map((ns) => Math.round(ns * 0.98)), peer };
  const text = report(m, 20);
  assert.match(
    text,
    /\| examples\/wakeup\.lt as at bbbbbbb, the same work +\| this \(aaaaaaa\) \|/,
  );
  assert.match(
    text,
    /- examples\/wakeup\.lt as at bbbbbbb, the same work: aaaaaaa \/ bbbbbbb = 0\.980, cheaper beyond\s+noise/,
  );
  // and it follows its example's row
  assert.ok(text.search(/the same work +\|/) > text.indexOf("examples/wakeup.lt (sched_wakeup"));
});

test.run();
