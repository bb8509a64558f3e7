// test:vm's live eBPF chain differential pairs each live hit with replay's hit of the same
// datagram (alignHits, test/vm/ebpf-chain.ts): by order per tracker and origin task, not by
// the nearest origin, which under TCG can be another datagram's.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { HitRecord } from "../../src/records/types.ts";
import { alignHits } from "./ebpf-chain.ts";

const MS = 1e6;

/** A chain hit of `tracker` whose origin is task `tid` at `originMs`; `tag` marks the datagram. */
function hit(tracker: string, tid: number, originMs: number, tag: number): HitRecord {
  const stage = (kind: string, ts: number) => ({
    stage: kind,
    probe: "irq:softirq_raise",
    ts_ns: BigInt(Math.round(ts * MS)),
    cpu: 0,
    tid,
    pid: tid,
    comm: "ltwork",
    dur_ns: 0,
  });
  return {
    type: "hit",
    tracker,
    kind: "threshold",
    latency_ns: tag,
    key: [],
    begin: stage("origin", originMs),
    end: null,
    snapshot: null,
    stack: null,
    chain: [stage("origin", originMs), stage("run", originMs + 0.3)],
  } as unknown as HitRecord;
}

/** Datagrams k = 0..n-1 sent 2 ms apart from `startMs`. */
const datagrams = (tracker: string, tid: number, startMs: number, n: number) =>
  Array.from({ length: n }, (_, k) => hit(tracker, tid, startMs + 2 * k, k));

const tags = (pairs: ReturnType<typeof alignHits>) =>
  pairs.map((p) => [p.live.latency_ns, p.replay?.latency_ns ?? null]);

test("a live stage that trails replay's by 19.6 ms still pairs its hit with its own", () => {
  // the guest stopped for 19.6 ms between ftrace's clock read of datagram 5's origin and
  // the BPF program's: every later event is later on both clocks
  const paused = (k: number) => 100 + 2 * k + (k > 5 ? 19.6 : 0);
  const replay = Array.from({ length: 20 }, (_, k) => hit("chains", 7, paused(k), k));
  const live = Array.from({ length: 20 }, (_, k) => hit("chains", 7, paused(k), k));
  live[5] = hit("chains", 7, paused(5) + 19.6, 5);
  live[5].chain![1].ts_ns = replay[5].chain![1].ts_ns;
  const pairs = alignHits(live, replay);
  assert.equal(
    tags(pairs),
    live.map((h) => [h.latency_ns, h.latency_ns]),
  );
});

test("replay's hits before and after the live run, and a hit live lacks, are left out", () => {
  const replay = datagrams("chains", 7, 100, 20);
  // the live run began at datagram 4, ended after 15, and lost datagram 9
  const live = datagrams("chains", 7, 100, 16)
    .slice(4)
    .filter((h) => h.latency_ns !== 9)
    .map((h) => hit("chains", 7, Number(h.chain![0].ts_ns) / MS + 0.01, h.latency_ns));
  assert.equal(
    tags(alignHits(live, replay)),
    live.map((h) => [h.latency_ns, h.latency_ns]),
  );
});

test("a live hit replay lacks is unpaired; trackers and origin tasks are kept apart", () => {
  const replay = [
    ...datagrams("chains", 7, 100, 5).filter((h) => h.latency_ns !== 2),
    ...datagrams("chains", 8, 100, 5).map((h) => hit("chains", 8, 100.5, 100 + h.latency_ns)),
    ...datagrams("other", 7, 100, 5).map((h) => hit("other", 7, 100, 200 + h.latency_ns)),
  ];
  const live = datagrams("chains", 7, 100, 5);
  assert.equal(tags(alignHits(live, replay)), [
    [0, 0],
    [1, 1],
    [2, null],
    [3, 3],
    [4, 4],
  ]);
});

test.run();
