// What user space makes of the programs' bytes: per-CPU stats summed (min kept inverted,
// histogram buckets), hit records decoded into the output contract, and a verifier refusal
// reported with the failing instruction's `.lt` line.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateTracker } from "../../src/compiler/bpf/codegen.ts";
import { Ctx, Hit, hitRecordSize, Stats } from "../../src/compiler/bpf/layout.ts";
import { VerifierError } from "../../src/kernel/errors.ts";
import { decodeHit, decodeStats } from "../../src/session/live-decode.ts";
import { verifierReport } from "../../src/session/live-tracker.ts";
import { wakeupPlan } from "../plans.ts";

test("stats of two CPUs: counters add up, min and max are exact, buckets merge", () => {
  const bytes = new Uint8Array(2 * Stats.size);
  const v = new DataView(bytes.buffer);
  const put = (cpu: number, off: number, value: bigint) =>
    v.setBigUint64(cpu * Stats.size + off, value, true);
  put(0, Stats.pairs, 3n);
  put(1, Stats.pairs, 2n);
  put(1, Stats.hits, 1n);
  put(0, Stats.dropped, 4n);
  put(0, Stats.minInverted, BigInt.asUintN(64, ~700n));
  put(1, Stats.minInverted, BigInt.asUintN(64, ~300n));
  put(0, Stats.max, 5000n);
  put(1, Stats.max, 9000n);
  put(0, Stats.hist + 10 * 8, 2n);
  put(1, Stats.hist + 10 * 8, 1n);
  put(0, Stats.sum, 12_000n);
  put(1, Stats.sum, 2n ** 60n);
  const c = decodeStats(bytes, 2);
  assert.equal([c.pairs, c.hits, c.dropped, c.min, c.max], [5, 1, 4, 300n, 9000n]);
  assert.is(c.sumNs, 2n ** 60n + 12_000n, "the sum, exact past 2^53");
  assert.is(c.hist[10], 3);
});

test("stats of a tracker that saw nothing have no min and no max", () => {
  const c = decodeStats(new Uint8Array(2 * Stats.size), 2);
  assert.equal([c.pairs, c.min, c.max, c.sumNs], [0, null, null, 0n]);
});

test("a threshold hit record decodes into begin and end contexts and the key", () => {
  const layout = generateTracker(wakeupPlan(), 3).layout;
  const bytes = new Uint8Array(hitRecordSize(layout.key.size));
  const v = new DataView(bytes.buffer);
  v.setUint32(Hit.tracker, 3, true);
  v.setBigUint64(Hit.latency, 250_000n, true);
  const context = (at: number, ts: bigint, pid: number, tid: number, cpu: number, comm: string) => {
    v.setBigUint64(at + Ctx.ts, ts, true);
    v.setBigUint64(at + Ctx.pidTgid, (BigInt(pid) << 32n) | BigInt(tid), true);
    v.setUint32(at + Ctx.cpu, cpu, true);
    bytes.set(new TextEncoder().encode(comm), at + Ctx.comm);
  };
  context(Hit.begin, 1_000_000n, 10, 11, 1, "waker");
  context(Hit.end, 1_250_000n, 20, 20, 0, "cyclictest");
  v.setBigInt64(Hit.stackId, -1n, true);
  v.setBigInt64(Hit.key, -5n, true);
  const { hit, stackId } = decodeHit(bytes, layout);
  assert.is(stackId, -1);
  assert.equal(hit, {
    type: "hit",
    tracker: "wakeup",
    kind: "threshold",
    latency_ns: 250_000,
    key: [-5n],
    begin: {
      probe: "sched:sched_wakeup",
      ts_ns: 1_000_000n,
      cpu: 1,
      tid: 11,
      pid: 10,
      comm: "waker",
    },
    end: {
      probe: "sched:sched_switch",
      ts_ns: 1_250_000n,
      cpu: 0,
      tid: 20,
      pid: 20,
      comm: "cyclictest",
    },
    snapshot: null,
    stack: null,
  });
});

test("a verifier refusal names the failing instruction's .lt source and marks it in the listing", () => {
  const program = generateTracker(wakeupPlan(), 0).programs.find((p) => p.role === "begin")!;
  const log = [
    "0: R1=ctx() R10=fp0",
    "1: (61) r1 = *(u32 *)(r6 +28)",
    "invalid bpf_context access off=28 size=4",
  ].join("\n");
  const report = verifierReport(program, new VerifierError(program.name, 13, log));
  assert.match(
    report,
    "the kernel verifier rejected ltsh_wakeup_b0 (begin of tracker wakeup on sched:sched_wakeup, errno 13)",
  );
  assert.match(report, "failing instruction 1 comes from test.lt:1: prio < 100");
  assert.match(report, "  >  1: r1 = *(u32 *)(r6 +28)");
  assert.match(report, "  invalid bpf_context access off=28 size=4");
});

test.run();
